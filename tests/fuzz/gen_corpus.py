#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora of fuzz_vq and fuzz_vmmio (tests/fuzz/corpus/).

Each seed is one named, well-understood scenario, sound or hostile; the
input formats are described at the top of fuzz_vq.c and fuzz_vmmio.c.
Run from the repository root: tests/fuzz/gen_corpus.py
"""
import os
import struct

B = 0x40000000          # FG_RAM_BASE
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# ---- fuzz_vq -----------------------------------------------------------
INDIRECT, EVENT_IDX, CLAMP, RELATIVE, HOLD, HOLE, RELEASE, GUARD = (1 << i for i in range(8))
F_NEXT, F_WRITE, F_IND = 1, 2, 4
DESC, AVAIL, USED, IND, DATA = B, B + 0x1000, B + 0x2000, B + 0x3000, B + 0x4000


def d(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr & (2**64 - 1), length & 0xffffffff, flags, nxt)


def vq_seed(flags, log2num, descs, heads, avail_idx=None, ind=b"",
            rounds=1, more_idx=(), seed=0x5a5a5a5a, used_event=0, aflags=0):
    num = 1 << log2num
    table = b"".join(descs).ljust(16 * num, b"\0")[:16 * num]
    if avail_idx is None:
        avail_idx = len(heads)
    ring = b"".join(struct.pack("<H", h) for h in heads).ljust(2 * num, b"\0")[:2 * num]
    avail = struct.pack("<HH", aflags, avail_idx & 0xffff) + ring + struct.pack("<H", used_event)
    out = bytes([flags, log2num, rounds - 1]) + table + avail
    out += ind.ljust(0x1000, b"\0")[:0x1000] + struct.pack("<I", seed)
    out += b"".join(struct.pack("<H", i & 0xffff) for i in more_idx)
    return out


ALL = INDIRECT | EVENT_IDX
VQ = {
    "empty_ring": vq_seed(ALL, 4, [], []),
    "one_direct_rw": vq_seed(ALL, 4, [d(DATA, 64, F_NEXT, 1), d(DATA + 0x1000, 64, F_WRITE)], [0]),
    "two_chains_event_idx": vq_seed(ALL, 4, [d(DATA, 8), d(DATA + 64, 8, F_WRITE)], [0, 1]),
    "chain_of_8": vq_seed(ALL, 4, [d(DATA + 64 * i, 64, (F_WRITE if i >= 4 else 0) | (F_NEXT if i < 7 else 0), i + 1)
                                   for i in range(8)], [0]),
    "indirect_3": vq_seed(ALL, 4, [d(IND, 48, F_IND)], [0],
                          ind=d(DATA, 100, F_NEXT, 1) + d(DATA + 0x1000, 50, F_WRITE | F_NEXT, 2) + d(DATA + 0x2000, 50, F_WRITE)),
    "direct_then_indirect": vq_seed(ALL, 4, [d(DATA, 10, F_NEXT, 1), d(IND, 32, F_IND)], [0],
                                    ind=d(DATA + 16, 10, F_NEXT, 1) + d(DATA + 0x1000, 20, F_WRITE)),
    "loop_self": vq_seed(ALL, 4, [d(DATA, 64, F_NEXT, 0)], [0]),
    "loop_two": vq_seed(ALL, 4, [d(DATA, 64, F_NEXT, 1), d(DATA, 64, F_NEXT, 0)], [0]),
    "next_out_of_range": vq_seed(ALL, 4, [d(DATA, 64, F_NEXT, 16)], [0]),
    "head_out_of_range": vq_seed(ALL, 4, [d(DATA, 64)], [16]),
    "avail_idx_jump": vq_seed(ALL, 4, [d(DATA, 64)], [0] * 16, avail_idx=17),
    "avail_idx_back": vq_seed(ALL, 4, [d(DATA, 64)], [0, 0], rounds=2, more_idx=[1]),
    "len_zero": vq_seed(ALL, 4, [d(DATA, 0)], [0]),
    "len_max": vq_seed(ALL, 4, [d(DATA, 0xffffffff, F_WRITE)], [0]),
    "addr_wraps": vq_seed(ALL, 4, [d(0xfffffffffffff000, 0x2000)], [0]),
    "below_ram": vq_seed(ALL, 4, [d(0x1000, 64)], [0]),
    "mmio_window": vq_seed(ALL, 4, [d(0x02000000, 64, F_WRITE)], [0]),
    "past_ram_end": vq_seed(ALL, 4, [d(B + (1 << 20) - 32, 64)], [0]),
    "indirect_nested": vq_seed(ALL, 4, [d(IND, 16, F_IND)], [0], ind=d(IND + 0x100, 16, F_IND)),
    "indirect_with_next": vq_seed(ALL, 4, [d(IND, 16, F_IND | F_NEXT, 1), d(DATA, 8, F_WRITE)], [0],
                                  ind=d(DATA, 8)),
    "indirect_len_24": vq_seed(ALL, 4, [d(IND, 24, F_IND)], [0], ind=d(DATA, 8) * 2),
    "indirect_len_over_size": vq_seed(ALL, 4, [d(IND, 17 * 16, F_IND)], [0],
                                      ind=b"".join(d(DATA, 8, F_NEXT, i + 1) for i in range(16)) + d(DATA, 8)),
    "indirect_not_negotiated": vq_seed(EVENT_IDX, 4, [d(IND, 16, F_IND)], [0], ind=d(DATA, 8)),
    "readable_after_writable": vq_seed(ALL, 4, [d(DATA, 8, F_WRITE | F_NEXT, 1), d(DATA + 8, 8)], [0]),
    "clamp_split": vq_seed(ALL | CLAMP, 4, [d(DATA + 0xf00, 0x3000, F_NEXT, 1), d(DATA + 0x8f00, 0x3000, F_WRITE)], [0]),
    "hold_full_ring": vq_seed(ALL | HOLD, 3, [d(DATA + 0x100 * i, 16, F_WRITE) for i in range(8)],
                              list(range(8))),
    "release_some": vq_seed(ALL | RELEASE, 3, [d(DATA + 0x100 * i, 16, F_WRITE) for i in range(8)],
                            list(range(8)), seed=0xa5a5a5a5),
    "rounds_wrap": vq_seed(ALL, 1, [d(DATA, 8), d(DATA + 64, 8, F_WRITE)], [0, 1], rounds=4,
                           more_idx=[3, 5, 7]),
    "no_event_idx_flags": vq_seed(INDIRECT, 4, [d(DATA, 8)], [0], aflags=1),
    "relative_mix": vq_seed(ALL | RELATIVE, 4, [d(0x4000, 100, F_NEXT, 1), d(0x8000_0000_0000_0000, 32, F_IND)], [0],
                            ind=d(0x9000, 20, F_WRITE | F_NEXT, 1) + d(0xa000, 20, F_WRITE)),
    "hole": vq_seed(ALL | HOLE, 4, [d(B + 0x80100, 64)], [0]),
    "ring_256": vq_seed(ALL, 8, [d(DATA + 16 * i, 16, F_WRITE) for i in range(256)], list(range(256))),
    "guard_ring_256_head_256": vq_seed(ALL | GUARD, 8, [d(DATA, 16, F_WRITE)], [256]),
    "guard_ring_256_full_indirect": vq_seed(ALL | GUARD, 8, [d(IND, 0x1000, F_IND)], [0],
                                            ind=b"".join(d(DATA + 16 * i, 16, F_WRITE | (F_NEXT if i < 255 else 0), i + 1)
                                                         for i in range(256))),
    "ring_1": vq_seed(ALL, 0, [d(DATA, 16, F_WRITE)], [0], rounds=3, more_idx=[2, 3]),
}

# ---- fuzz_vmmio ----------------------------------------------------------
SETUP, M_IND, M_EVT, M_FB, M_CLAMP, M_HOLD, M_COMPLETE = (1 << i for i in range(7))
OP_POKE, OP_COMPLETE, OP_ACK, OP_CONFIG = 4 << 3, 5 << 3, 6 << 3, 7 << 3


def rd(off, size=4, extra=0):
    return struct.pack("<BHIB", {1: 0, 2: 1, 4: 2, 8: 3}[size], off, 0, extra)


def wr(off, val, size=4, extra=0):
    return struct.pack("<BHIB", 4 | {1: 0, 2: 1, 4: 2, 8: 3}[size], off, val & 0xffffffff, extra)


def poke(offset, val):
    return struct.pack("<BHIB", OP_POKE, (offset // 4) & 0xffff, val & 0xffffffff, (offset // 4) >> 16)


def op(kind, extra=0):
    return struct.pack("<BHIB", kind, 0, 0, extra)


def poke_desc(base, i, addr, length, flags=0, nxt=0):
    o = base + 16 * i
    return (poke(o, addr) + poke(o + 4, addr >> 32) + poke(o + 8, length)
            + poke(o + 12, flags | nxt << 16))


def publish(avail_off, heads):
    out = b""
    for k in range(0, len(heads), 2):
        pair = heads[k:k + 2] + [0]
        out += poke(avail_off + 4 + 2 * k, pair[0] | pair[1] << 16)
    return out + poke(avail_off, len(heads) << 16)


# Ring offsets of a set-up rig (num 8): q0 0x0000.., q1 0x4000.., data 0x8000.
Q0_DESC, Q0_AVAIL, Q1_DESC, Q1_AVAIL, DATA_OFF = 0x0000, 0x1000, 0x4000, 0x5000, 0x8000


def negotiate(feat_lo=(1 << 28) | (1 << 29) | 1, feat_hi=1):
    return (wr(0x70, 0) + wr(0x70, 1) + wr(0x70, 3) + wr(0x14, 1) + rd(0x10)
            + wr(0x14, 0) + rd(0x10) + wr(0x24, 1) + wr(0x20, feat_hi) + wr(0x24, 0)
            + wr(0x20, feat_lo) + wr(0x70, 0xb) + rd(0x70))


def queue(q, desc, avail, used, num=8):
    return (wr(0x30, q) + rd(0x34) + wr(0x38, num) + wr(0x80, desc) + wr(0x84, 0)
            + wr(0x90, avail) + wr(0x94, 0) + wr(0xa0, used) + wr(0xa4, 0) + wr(0x44, 1) + rd(0x44))


rw_chain = (poke_desc(Q0_DESC, 0, B + DATA_OFF, 64, 1, 1)
            + poke_desc(Q0_DESC, 1, B + DATA_OFF + 0x1000, 64, 2) + publish(Q0_AVAIL, [0]))
VMMIO = {
    "probe": bytes([0]) + rd(0x0) + rd(0x4) + rd(0x8) + rd(0xc),
    "manual_bringup_and_kick": bytes([0]) + negotiate()
    + queue(0, B + 0x10000, B + 0x11000, B + 0x12000) + wr(0x70, 0xf)
    + poke_desc(0x0000, 0, B + 0x8000, 64, 1, 1) + poke_desc(0x0000, 1, B + 0x9000, 64, 2)
    + publish(0x1000, [0]) + wr(0x50, 0) + rd(0x60) + wr(0x64, 1),
    "setup_echo_kick": bytes([SETUP | M_IND | M_EVT]) + rw_chain + wr(0x50, 0) + rd(0x60) + op(OP_ACK),
    "setup_hold_complete": bytes([SETUP | M_EVT | M_HOLD]) + rw_chain + wr(0x50, 0) + op(OP_COMPLETE, 0)
    + rd(0x60),
    "hold_then_reset": bytes([SETUP | M_HOLD]) + rw_chain + wr(0x50, 0) + wr(0x70, 0) + rd(0x70),
    "config_all_widths": bytes([0]) + b"".join(rd(0x100 + o, s) for s in (1, 2, 4, 8) for o in range(0, 24, s))
    + wr(0x108, 0x11223344) + wr(0x109, 0x55, 1) + wr(0x10a, 0x6677, 2) + wr(0x100, 0) + rd(0x108),
    "config_out_of_bounds": bytes([0]) + rd(0x114) + rd(0x110, 8) + rd(0x1fc) + rd(0x10e, 4) + wr(0x114, 1) + wr(0x1ff, 1, 1)
    + rd(0x101, 2) + rd(0x104, 8),
    "register_bad_widths": bytes([0]) + rd(0x0, 1) + rd(0x0, 2) + rd(0x0, 8) + rd(0x1, 4) + wr(0x70, 1, 1)
    + wr(0x70, 1, 2) + wr(0x70, 1, 8) + wr(0x71, 1, 4) + rd(0x70),
    "queue_sel_out_of_range": bytes([0]) + negotiate() + queue(2, B, B + 0x1000, B + 0x2000)
    + queue(0xffffffff, B, B + 0x1000, B + 0x2000) + rd(0x34),
    "queue_bad_layouts": bytes([0]) + negotiate() + queue(0, B + 8, B + 0x1000, B + 0x2000)
    + queue(0, B, B + 1, B + 0x2000) + queue(0, B, B + 0x80, B + 0x100) + queue(0, B, B + 0x1000, B + 0x2000, 3)
    + queue(0, B, B + 0x1000, B + 0x2000, 512) + queue(0, 0, 0, 0),
    "registers_after_ready": bytes([SETUP]) + wr(0x30, 0) + wr(0x38, 4) + wr(0x80, B + 0x20000) + wr(0x44, 0)
    + rd(0x44) + rw_chain + wr(0x50, 0),
    "interrupt_ack": bytes([SETUP | M_EVT]) + rw_chain + wr(0x50, 0) + op(OP_CONFIG) + rd(0x60) + wr(0x64, 2)
    + rd(0x60) + wr(0x64, 0xfffffffc) + wr(0x64, 1) + rd(0x60) + rd(0xfc),
    "notify_bogus": bytes([SETUP]) + wr(0x50, 2) + wr(0x50, 0xffff) + wr(0x50, 0xffffffff) + wr(0x50, 1, 2),
    "features_bad": bytes([0]) + negotiate(feat_lo=1 << 3) + wr(0x70, 0) + negotiate(feat_hi=0)
    + wr(0x24, 2) + wr(0x20, 1) + wr(0x70, 0xb) + rd(0x70),
    "driver_ok_without_features_ok": bytes([0]) + wr(0x70, 3) + queue(0, B, B + 0x1000, B + 0x2000)
    + wr(0x70, 7) + wr(0x50, 0),
    "malformed_loop_kick": bytes([SETUP | M_IND]) + poke_desc(Q0_DESC, 0, B + DATA_OFF, 64, 1, 0)
    + publish(Q0_AVAIL, [0]) + wr(0x50, 0) + rd(0x70) + rd(0x60) + wr(0x70, 0) + rd(0x70),
    "malformed_indirect_kick": bytes([SETUP | M_IND]) + poke_desc(Q0_DESC, 0, B + 0x3000, 24, 4)
    + publish(Q0_AVAIL, [0]) + wr(0x50, 0) + rd(0x70),
    "both_queues": bytes([SETUP | M_EVT | M_CLAMP]) + rw_chain + poke_desc(Q1_DESC, 0, B + DATA_OFF + 0xf80, 0x200, 2)
    + publish(Q1_AVAIL, [0]) + wr(0x50, 1) + wr(0x50, 0) + op(OP_ACK),
    "odd_sizes_far_offsets": bytes([SETUP]) + rd(0x70, 4, 0x83) + wr(0x70, 0, 4, 0x85) + rd(0x0, 4, 0x70)
    + wr(0x70, 0, 4, 0x7f) + rd(0x3ff, 1),
    "legacy_registers": bytes([0]) + negotiate() + wr(0x28, 4096) + wr(0x30, 0) + wr(0x38, 8) + wr(0x3c, 4096)
    + wr(0x40, (B >> 12) + 16) + rd(0x40) + rd(0x44),
}


def write(target, seeds):
    d_ = os.path.join(OUT, target)
    os.makedirs(d_, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d_, "seed-" + name), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seeds)} seeds in {d_}")


write("vq", VQ)
write("vmmio", VMMIO)


# ---- fuzz_ioreq ----------------------------------------------------------
IO_STEER, IO_SERVE_ALL, IO_KEEP_STATE, IO_FAIL_MAP = 1, 2, 4, 8
T_COPY, T_INVALIDATE, T_PIO = 1, 8, 0
RD, WR_ = 1, 0
MMIO0 = 0x2000000


def slot(addr, size, dirn=RD, data=0, typ=T_COPY, count=1, ptr=0, state=1):
    flags = (state & 0xf) | (ptr & 1) << 4 | (dirn & 1) << 5
    return struct.pack("<QQIIIHBB", addr & (2**64 - 1), data & (2**64 - 1), count, size, 0, 0, flags, typ)


def rec(s, vcpu=0, kick=0x80, value=0x1122334455667788):
    return s + bytes([vcpu, kick]) + struct.pack("<Q", value)


def windows(*ws):
    return bytes([len(ws)]) + b"".join(struct.pack("<QI", b, sz) for b, sz in ws)


def io_seed(flags, nvcpus, ws, recs):
    return bytes([flags, nvcpus - 1]) + ws + b"".join(recs)


TWO = windows((MMIO0, 0x200), (MMIO0 + 0x200, 0x200))
IOREQ = {
    "read_each_width": io_seed(0, 1, TWO, [rec(slot(MMIO0 + 0x70, s)) for s in (1, 2, 4, 8)]),
    "write_and_kick": io_seed(0, 2, TWO, [rec(slot(MMIO0 + 0x50, 4, WR_, 0), 1, 0)]),
    "invalidate": io_seed(0, 1, TWO, [rec(slot(0, 0, typ=T_INVALIDATE))]),
    "bad_type_count_ptr_size": io_seed(0, 1, TWO, [rec(slot(MMIO0, 4, typ=T_PIO)),
                                                   rec(slot(MMIO0, 4, count=2)),
                                                   rec(slot(MMIO0, 4, ptr=1)),
                                                   rec(slot(MMIO0, 3)), rec(slot(MMIO0, 16))]),
    "outside_and_straddling": io_seed(0, 1, TWO, [rec(slot(MMIO0 - 4, 4)), rec(slot(MMIO0 + 0x3fc, 8)),
                                                  rec(slot(MMIO0 + 0x400, 4, WR_, 7)),
                                                  rec(slot(2**64 - 4, 8))]),
    "window_at_top": io_seed(0, 1, windows((2**64 - 0x200, 0x200)), [rec(slot(2**64 - 8, 8)),
                                                                     rec(slot(2**64 - 4, 8))]),
    "many_vcpus_pending": io_seed(IO_SERVE_ALL, 8, TWO, [rec(slot(MMIO0 + 4 * v, 4), v, 0x41) for v in range(8)]),
    "state_not_ready": io_seed(IO_KEEP_STATE, 1, TWO, [rec(slot(MMIO0, 4, state=0)), rec(slot(MMIO0, 4, state=3)),
                                                       rec(slot(MMIO0, 4, state=1))]),
    "too_many_windows": io_seed(IO_STEER, 1, windows(*[(i, 1) for i in range(17)]), [rec(slot(MMIO0, 4))]),
    "map_refused": io_seed(IO_FAIL_MAP, 1, windows(*[(MMIO0 + 0x200 * i, 0x200) for i in range(4)]),
                           [rec(slot(MMIO0 + 0x400, 4))]),
    "overlapping_windows": io_seed(0, 1, windows((MMIO0, 0x400), (MMIO0 + 0x200, 0x200)), [rec(slot(MMIO0 + 0x300, 4), 0, 2)]),
}
write("ioreq", IOREQ)


# ---- fuzz_gnt --------------------------------------------------------------
G = 2**63
OP_MAP, OP_WHOLE, OP_READ, OP_UNMAP = 0, 2, 3, 4
GRANT, HUGE, WRITE = 0x10, 0x20, 0x40


def gop(op, addr, length):
    return struct.pack("<BQQ", op, addr & (2**64 - 1), length & (2**64 - 1))


GNT = {
    "one_page": bytes([0]) + gop(OP_MAP | GRANT, (1 << 12), 4096) + gop(OP_UNMAP, 0, 0),
    "offset_span": bytes([0]) + gop(OP_MAP | GRANT | WRITE, (7 << 12) | 0xff0, 0x20),
    "max_pages": bytes([0]) + gop(OP_MAP | GRANT, 100 << 12, 32 * 4096 + 1),
    "plain_address": bytes([0]) + gop(OP_MAP, 0x40000000, 4096) + gop(OP_WHOLE, 0x40000000, 64),
    "top_refs": bytes([0]) + gop(OP_MAP | GRANT, G | (0xffffffff << 12), 8192)
    + gop(OP_MAP | GRANT, G | (0x1ffffffff << 12), 16),
    "whole_ring": bytes([0]) + gop(OP_WHOLE | GRANT, 5 << 12, 4096 + 6) + gop(OP_WHOLE | GRANT, 5 << 12, 40 * 4096),
    "read_across": bytes([0]) + gop(OP_READ | GRANT, (3 << 12) | 0x800, 40000),
    "revoked": bytes([0x04]) + gop(OP_MAP | GRANT, 2 << 12, 4096 * 4) + gop(OP_READ | GRANT, 1 << 12, 9000),
    "huge_len": bytes([0]) + gop(OP_MAP | GRANT | HUGE, 9 << 12, 2**64 - 1),
    "many_held": bytes([0]) + b"".join(gop(OP_MAP | GRANT, i << 12, 4096 * (i % 3 + 1)) for i in range(20)),
}
write("gnt", GNT)


# ---- fuzz_config -----------------------------------------------------------
C_GENERIC, C_NAME = 1, 2
NODE_NAMES = ["base", "irq", "params", "mode", "grant_usage", "dev", "device-type", "type"]
DISK = "/tmp/xvb-fuzz-disk.img"


def fld(v):
    v = v.encode() if isinstance(v, str) else v
    return struct.pack("<H", len(v)) + v


def cfg_seed(flags, nodes, conf="", name="", devid=51712, spec="", lines=()):
    mask = 0
    vals = b""
    for i, n in enumerate(NODE_NAMES):
        if n in nodes:
            mask |= 1 << i
            vals += fld(nodes[n])
    return (struct.pack("<BHH", flags, mask, devid & 0xffff) + fld(conf) + fld(name) + vals
            + fld(spec) + b"".join(fld(line) for line in lines))


GOOD_DISK = {"base": "33554432", "irq": "33", "params": DISK, "mode": "w", "dev": "xvda"}
CONF = "[net]\nbridge = xenbr0\n[guest g]\nnic0.mac = 00:16:3e:00:00:01\nnic1.bridge = br1\n"
CONFIG = {
    "disk": cfg_seed(0, GOOD_DISK),
    "disk_ro_cdrom": cfg_seed(0, dict(GOOD_DISK, **{"device-type": "cdrom"})),
    "disk_grants_serial": cfg_seed(0, dict(GOOD_DISK, grant_usage="1", dev="xvd-b_2")),
    "disk_bad_base": cfg_seed(0, dict(GOOD_DISK, base="0x2000100")),
    "disk_hex_irq_max": cfg_seed(0, dict(GOOD_DISK, base="0x2000200", irq="1023")),
    "disk_params_comma_newline": cfg_seed(0, dict(GOOD_DISK, params=DISK + ",mode=r")),
    "disk_params_nl": cfg_seed(0, dict(GOOD_DISK, params="/a\nadd blk 1 base=1")),
    "disk_embedded_nul": cfg_seed(0, dict(GOOD_DISK, mode=b"w\0r")),
    "disk_missing": cfg_seed(0, {"base": "33554432"}),
    "nic_slot": cfg_seed(C_NAME, dict(GOOD_DISK, params="/etc/xen/xvb-net:bridge=br0,mac=00:16:3e:00:00:09"),
                         conf=CONF, name="g"),
    "nic_slot_bad_mac": cfg_seed(C_NAME, dict(GOOD_DISK, params="/x/xvb-net:mac=01:00:00:00:00:00"), name="g"),
    "nic_slot_opts": cfg_seed(C_NAME, dict(GOOD_DISK, params="/x/xvb-net:queues=3,poll_us=20,ifname=t0"),
                              conf=CONF + "nic0.poll_us = 30\n[net]\nqueues = 2\n", name="g"),
    "nic_slot_owned_key": cfg_seed(C_NAME, dict(GOOD_DISK, params="/x/xvb-net:mac=00:16:3e:00:00:01,irq=40"), name="g"),
    "generic_nic": cfg_seed(C_GENERIC | C_NAME, {"type": "virtio,device1", "base": "33554944", "irq": "34"},
                            conf=CONF, name="g", devid=0),
    "generic_wrong_type": cfg_seed(C_GENERIC, {"type": "virtio,device2", "base": "33554944", "irq": "34"}),
    "conf_bad_lines": cfg_seed(0, GOOD_DISK, conf="[net\nbridge\n[guest x]\nkey = " + "v" * 70 + "\n"),
    "conf_bad_values": cfg_seed(C_GENERIC | C_NAME, {"type": "virtio,device1", "base": "33554944", "irq": "34"},
                                conf="[guest g]\nbridge = a,b\nmac = zz\n", name="g"),
    "name_not_plain": cfg_seed(C_GENERIC | C_NAME, {"type": "virtio,device1", "base": "33554944", "irq": "34"},
                               name="../../x y"),
    "static_spec": cfg_seed(0, {}, spec="base=0x2000000,irq=33,mode=r,serial=abc,path=" + DISK + ",x"),
    "static_spec_net": cfg_seed(0, {}, spec="base=0x2000200,irq=34,mac=00:16:3e:00:00:01,ifname=t0,bridge=br0"),
    "worker_lines": cfg_seed(0, {}, lines=["server 7", "ready 51712 ", "failed 51713 no", "closed 51714 ",
                                           "ready 51714 ", "ready", "bogus 1 2", "ready 99999 "]),
}
write("config", CONFIG)


# ---- fuzz_blk --------------------------------------------------------------
B_RO, B_WT, B_CLAMP, B_NO_IND, B_NO_EVT, B_NO_FLUSH, B_NO_DWZ, B_MQ = (1 << i for i in range(8))
OPR, OPSEG, OPKICK, OPRUN, OPRESET, OPWCE, OPCOLLECT = range(7)
TIN, TOUT, TFLUSH, TGETID, TDISCARD, TWZ, TUNKNOWN = 0, 1, 2, 3, 4, 5, 7
NOKICK, RAWTYPE = 0x40, 0x80
S_IND, S_FLIP, S_NO_ST, S_RO_ST, S_ZERO_ST, S_LONG_ST = 8, 16, 32, 64, 128, 256
S_SHORT_HDR, S_SPLIT_HDR, S_RAW_SECTOR, S_OUTSIDE, S_Q1, S_RAW_LEN = 512, 1024, 2048, 4096, 8192, 16384


def brec(op, a=0, b=0, c=0, d=0):
    return struct.pack("<BBHIQ", op, a, b & 0xffff, c & 0xffffffff, d & (2**64 - 1))


def breq(t, sectors=8, sector=0, nseg=1, shape=0, a_extra=0):
    return brec(OPR, t | a_extra, nseg | shape, sectors, sector)


def bseg(i, sector, num, flags=0, raw=0):
    return brec(OPSEG, i, raw | flags << 2, num, sector)


def blk(flags, log2q, *recs):
    return bytes([flags, log2q - 1]) + b"".join(recs) + brec(OPCOLLECT)


BLK = {
    "write_read": blk(0, 7, breq(TOUT, 8, 16), brec(OPRUN, 3), breq(TIN, 8, 16, 2)),
    "write_flush_read_indirect": blk(0, 7, breq(TOUT, 16, 0, 4, S_IND), breq(TFLUSH, 0, 0, 0),
                                     breq(TIN, 16, 0, 3, S_IND)),
    "writethrough_no_flush": blk(B_WT | B_NO_FLUSH, 4, breq(TOUT, 1, 5), breq(TFLUSH, 0, 0, 0)),
    "wce_toggle": blk(0, 4, brec(OPWCE, 0), breq(TOUT, 1, 5), brec(OPWCE, 1), breq(TOUT, 1, 6)),
    "get_id": blk(0, 3, breq(TGETID, 1, 0, 1), breq(TGETID, 0, 0, 0, S_RAW_LEN), breq(TGETID, 0, 0, 1, S_RAW_LEN)),
    "discard_segments": blk(0, 4, bseg(0, 0, 8), bseg(1, 100, 16), breq(TDISCARD, 32, 0, 1, S_RAW_LEN)),
    "write_zeroes_unmap": blk(0, 4, bseg(0, 8, 8, 1), breq(TWZ, 16, 0, 1, S_RAW_LEN)),
    "discard_bad_flags_range": blk(0, 4, bseg(0, 8, 8, 1), bseg(1, 1020, 63), breq(TDISCARD, 32, 0, 1, S_RAW_LEN),
                                   bseg(0, 2**63, 1, 0, 1), breq(TWZ, 16, 0, 1, S_RAW_LEN)),
    "discard_too_many_segments": blk(0, 4, breq(TDISCARD, 33 * 16, 0, 1, S_RAW_LEN), breq(TWZ, 9 * 16, 0, 2, S_RAW_LEN)),
    "discard_not_negotiated": blk(B_NO_DWZ, 4, bseg(0, 0, 8), breq(TDISCARD, 16, 0, 1, S_RAW_LEN)),
    "status_shapes": blk(0, 5, breq(TOUT, 1, 0, 1, S_NO_ST), brec(OPRESET), breq(TIN, 1, 0, 1, S_RO_ST), brec(OPRESET),
                         breq(TIN, 1, 0, 1, S_ZERO_ST), brec(OPRESET), breq(TIN, 1, 0, 1, S_LONG_ST)),
    "header_shapes": blk(0, 5, breq(TIN, 1, 0, 1, S_SPLIT_HDR), breq(TIN, 13, 0, 1, S_SHORT_HDR),
                         brec(OPRESET), breq(TIN, 1, 0, 0)),
    "wrong_direction": blk(0, 5, breq(TOUT, 1, 0, 1, S_FLIP), breq(TIN, 1, 0, 2, S_FLIP)),
    "past_the_end": blk(0, 5, breq(TIN, 8, 1020, 1), breq(TOUT, 8, 1024), breq(TOUT, 1, 2**64 - 1, 1, S_RAW_SECTOR),
                        breq(TIN, 1, 2**63, 1, S_RAW_SECTOR), breq(TOUT, 700, 1, 1, S_RAW_LEN)),
    "outside_ram": blk(0, 5, breq(TIN, 2, 0, 1, S_OUTSIDE), brec(OPRESET), breq(TIN, 1)),
    "unknown_types": blk(0, 5, breq(TUNKNOWN, 1), breq(0, 1, 0, 1, 0, RAWTYPE) [:-8] + struct.pack("<Q", 0xdead << 32),
                         breq(0, 1, 0, 1, 0, RAWTYPE)[:-8] + struct.pack("<Q", 8 << 32)),
    "indirect_not_negotiated": blk(B_NO_IND, 5, breq(TIN, 1, 0, 2, S_IND), brec(OPRESET), breq(TIN, 1)),
    "readonly_write": blk(B_RO, 5, breq(TOUT, 8, 0), bseg(0, 0, 8), breq(TDISCARD, 16, 0, 1, S_RAW_LEN),
                          breq(TFLUSH, 0, 0, 0), breq(TIN, 8, 0)),
    "multiqueue": blk(B_MQ, 6, breq(TOUT, 8, 0, 1, S_Q1), breq(TIN, 8, 0, 1, S_Q1), breq(TOUT, 8, 64), brec(OPKICK, 3)),
    "reset_in_flight": blk(B_CLAMP, 8, *[breq(TOUT, 16, 16 * i, 3, 0, NOKICK) for i in range(40)], brec(OPKICK, 0),
                           brec(OPRUN, 0), brec(OPRESET), breq(TIN, 8, 0)),
    "ring_full": blk(B_NO_IND, 1, *[breq(TIN, 1, i, 2, 0, NOKICK) for i in range(4)], brec(OPKICK, 0)),
}
write("blk", BLK)


# ---- fuzz_net --------------------------------------------------------------
N_NO_CSUM, N_NO_TSO, N_NO_MRG, N_NO_CTRL, N_CLAMP, N_NO_GCSUM, N_NO_IND = (1 << i for i in range(7))
NTX, NRXBUF, NINJ, NCTRL, NKICK, NRUN, NRESET = range(7)
GUEST_MAC = bytes([0x52, 0x54, 0x00, 0x12, 0x34, 0x56])


def nrec(op, a=0, b=0, c=0, d=0):
    return struct.pack("<BBHIQ", op, a, b & 0xffff, c & 0xffffffff, d & (2**64 - 1))


def ntx(length, flags=0, gso=0, hdr_len=0, gso_size=0, cstart=0, coff=0, pieces=1, together=0, writable=0,
        nokick=0, raw_flags=None, indirect=0):
    a = (flags & 3) | (gso & 7) << 2 | (0x40 if nokick else 0) | (0x80 if raw_flags is not None else 0)
    d = coff | length << 16 | (pieces - 1) << 40 | together << 42 | writable << 43
    if raw_flags is not None:
        d |= raw_flags << 56
    return nrec(NTX, a, (hdr_len & ~1) | indirect, gso_size | cstart << 16, d)


def nrx(length, n=1, readable=0, indirect=0, tiny=0):
    return nrec(NRXBUF, (n - 1) & 3, readable | indirect << 1 | tiny << 2, length)


def ninj(length, bcast=0, seed=7, flags=0, gso=0):
    return nrec(NINJ, flags | (4 if gso else 0) | (0x10 if bcast else 0), 0, length, seed)


def nctrl(cls, cmd, data=b"", split=0, noack=0, longack=0):
    d = int.from_bytes(data[:8].ljust(8, b"\0"), "little") & (2**61 - 1)
    d |= split << 63 | noack << 62 | longack << 61
    return nrec(NCTRL, cls, cmd | len(data) << 8, 0, d)


def net(flags, log2q, *recs):
    return bytes([flags, log2q - 1]) + b"".join(recs) + nrec(NRUN, 3)


NET = {
    "tx_plain": net(0, 6, ntx(60), ntx(1514, pieces=3)),
    "tx_csum": net(0, 6, ntx(100, flags=1, cstart=14, coff=16), ntx(100, flags=1, cstart=90, coff=16)),
    "tx_tso": net(0, 6, ntx(3000, flags=1, gso=1, hdr_len=54, gso_size=1400, cstart=34, coff=16),
                  ntx(3000, flags=1, gso=3, hdr_len=74, gso_size=1400, cstart=54, coff=16)),
    "tx_gso_bad": net(0, 6, ntx(3000, gso=1, gso_size=1400), ntx(3000, flags=1, gso=1, gso_size=0, cstart=34, coff=16),
                      ntx(3000, flags=1, gso=4, gso_size=1400, cstart=34, coff=6),
                      ntx(3000, flags=1, gso=5, gso_size=1400, cstart=34, coff=16)),
    "tx_not_negotiated": net(N_NO_CSUM, 6, ntx(100, flags=1, cstart=14, coff=16),
                             ntx(3000, flags=1, gso=1, gso_size=1400, cstart=34, coff=16)),
    "tx_sizes": net(0, 6, ntx(0), ntx(13), ntx(14), ntx(65553, pieces=4), ntx(65554), ntx(100, hdr_len=102)),
    "tx_shapes": net(N_CLAMP, 6, ntx(200, together=1), ntx(200, writable=1), ntx(200, together=1, writable=1),
                     ntx(3000, pieces=4, indirect=1), ntx(100, raw_flags=4), ntx(100, raw_flags=2)),
    "tx_reset": net(0, 4, *[ntx(100 + i, nokick=1) for i in range(12)], nrec(NKICK, 1), nrec(NRESET), ntx(60)),
    "rx_simple": net(N_NO_MRG | N_NO_TSO, 6, *[nrx(1526) for _ in range(4)], ninj(60), ninj(1514, bcast=1), nrec(NRUN, 3), ninj(100)),
    "rx_mergeable": net(0, 6, *[nrx(1526) for _ in range(50)], ninj(9000), ninj(65000, seed=3), nrec(NRUN, 3)),
    "rx_mergeable_indirect": net(0, 6, *[nrx(1526, 2, indirect=1) for _ in range(44)], ninj(9000), nrec(NRUN, 3),
                                 *[nrx(4096, 3, indirect=1) for _ in range(12)], ninj(65553, seed=5)),
    "rx_no_mrg_big": net(N_NO_MRG, 6, *[nrx(1526) for _ in range(4)], ninj(3000), ninj(60)),
    "rx_bad_buffers": net(0, 6, nrx(10, tiny=1), nrx(1526, readable=1), nrx(0), nrx(1526, 3, indirect=1), ninj(60)),
    "rx_offload_hdr": net(N_NO_GCSUM, 6, nrx(1526), nrx(1526), ninj(60, flags=1), ninj(3000, flags=1, gso=1)),
    "rx_no_buffers": net(0, 6, ninj(60), ninj(60), nrec(NRUN, 3), nrx(1526)),
    "ctrl_rx_mode": net(N_NO_MRG | N_NO_TSO, 5, nctrl(0, 0, b"\0"), nctrl(0, 1, b"\1"), nctrl(0, 2, b"\1"), nctrl(0, 0, b"\0\0"),
                        nrx(1526), ninj(60, bcast=1), ninj(60)),
    "ctrl_mac": net(0, 5, nctrl(1, 1, GUEST_MAC), nctrl(1, 1, b"\1\2\3\4\5\6"), nctrl(1, 0, b"\0\0\0\0\0\0\0\0"),
                    nctrl(1, 0, b"\1\0\0\0" + GUEST_MAC[:4], split=1)),
    "ctrl_bad": net(0, 5, nctrl(99, 0), nctrl(0, 0, b"\1", noack=1), nctrl(0, 0, b"\1", longack=1)),
    "ctrl_not_negotiated": net(N_NO_CTRL, 5, nctrl(0, 0, b"\1"), ntx(60)),
}
write("net", NET)
