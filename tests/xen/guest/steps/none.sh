# SPDX-License-Identifier: MIT
# A guest with nothing to do (the probe maps its RAM while it is paused).
STAY=1
ok none
