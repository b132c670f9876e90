"""The Merkle tree hashing of RFC 9162 (Certificate Transparency 2.0, section 2.1), pure.

Leaf hash ``SHA-256(0x00 || leaf)``, node hash ``SHA-256(0x01 || left || right)``; a tree of
``n`` leaves splits at the largest power of two below ``n``. Every subtree the recursion
visits on the left is complete and aligned (its first leaf a multiple of its size), which is
what ``complaints.models.LogNode`` stores: ``range_hash`` and ``inclusion_path`` take a
``node(level, index)`` reader of those hashes, so a root or a proof reads O(log n) of them.
"""

import hashlib

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_aligned_complete(lo, size):
    return size & (size - 1) == 0 and lo % size == 0


def range_hash(lo: int, hi: int, node) -> bytes:
    """MTH of leaves ``[lo, hi)`` (RFC 9162 2.1.1); ``node(level, index)`` gives the hash of
    the complete aligned subtree ``[index·2^level, (index+1)·2^level)``."""
    size = hi - lo
    if size <= 0:
        return hashlib.sha256(b"").digest()
    if _is_aligned_complete(lo, size):
        return node(size.bit_length() - 1, lo // size)
    k = largest_power_of_two_below(size)
    return node_hash(range_hash(lo, lo + k, node), range_hash(lo + k, hi, node))


def inclusion_path(m: int, lo: int, hi: int, node) -> list:
    """PATH(m, D[lo:hi]) of RFC 9162 2.1.3.1: the audit path of leaf ``lo + m``, leaf side
    first."""
    size = hi - lo
    if size <= 1:
        return []
    k = largest_power_of_two_below(size)
    if m < k:
        return inclusion_path(m, lo, lo + k, node) + [range_hash(lo + k, hi, node)]
    return inclusion_path(m - k, lo + k, hi, node) + [range_hash(lo, lo + k, node)]


def root_from_inclusion(index: int, tree_size: int, leaf: bytes, path) -> bytes | None:
    """The root an inclusion proof leads to (RFC 9162 2.1.3.2), or ``None`` when the proof
    cannot belong to a tree of that size (too long, too short, index out of range)."""
    if index >= tree_size or index < 0:
        return None
    fn, sn = index, tree_size - 1
    r = leaf_hash(leaf)
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


def verify_inclusion(index: int, tree_size: int, leaf: bytes, path, root: bytes) -> bool:
    """Whether ``path`` proves ``leaf`` is leaf ``index`` of the tree of ``tree_size`` leaves
    with root ``root``."""
    return root_from_inclusion(index, tree_size, leaf, path) == root


def tree_root(leaves) -> bytes:
    """MTH of a list of leaves, computed from scratch (for checks and tests)."""
    hashes = [leaf_hash(leaf) for leaf in leaves]
    return _root_of_hashes(hashes)


def _root_of_hashes(hashes):
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = largest_power_of_two_below(len(hashes))
    return node_hash(_root_of_hashes(hashes[:k]), _root_of_hashes(hashes[k:]))


def root_of_leaf_hashes(hashes) -> bytes:
    """MTH given the leaf hashes themselves (level 0)."""
    return _root_of_hashes(list(hashes))


def consistency_path(m: int, lo: int, hi: int, node, complete: bool = True) -> list:
    """SUBPROOF(m, D[lo:hi], b) of RFC 9162 2.1.4.1; ``consistency_path(m, 0, n, node)`` is
    PROOF(m, D[n]): the hashes that show the tree of the first ``m`` leaves is a prefix of the
    tree of ``n`` leaves."""
    size = hi - lo
    if m == size:
        return [] if complete else [range_hash(lo, hi, node)]
    k = largest_power_of_two_below(size)
    if m <= k:
        return consistency_path(m, lo, lo + k, node, complete) + [range_hash(lo + k, hi, node)]
    return consistency_path(m - k, lo + k, hi, node, False) + [range_hash(lo, lo + k, node)]


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path):
    """Whether ``path`` proves that the tree of ``first`` leaves with root ``first_root`` is a
    prefix of the tree of ``second`` leaves with root ``second_root`` (RFC 9162 2.1.4.2): the
    log only grew, nothing in it was rewritten or taken back."""
    if first < 1 or first > second:
        return False
    if first == second:
        return not path and first_root == second_root
    path = list(path)
    if not path:
        return False
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
