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
