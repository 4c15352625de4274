"""VP8 RTP payload descriptor (RFC 7741, section 4.2).

Pure wire-format helpers: parse the descriptor, detect keyframes, rewrite the
picture id / TL0PICIDX in place, and keep those fields continuous for a
receiver whose outgoing stream is fed by several sources in turn.

Descriptor layout::

       0 1 2 3 4 5 6 7
      +-+-+-+-+-+-+-+-+
      |X|R|N|S|R| PID | (REQUIRED)
      +-+-+-+-+-+-+-+-+
   X: |I|L|T|K| RSV   | (OPTIONAL)
      +-+-+-+-+-+-+-+-+
   I: |M| PictureID   | (OPTIONAL)
      +-+-+-+-+-+-+-+-+
   M: | PictureID     | (present when M = 1: 15-bit picture id)
      +-+-+-+-+-+-+-+-+
   L: |   TL0PICIDX   | (OPTIONAL)
      +-+-+-+-+-+-+-+-+
 T/K: |TID|Y| KEYIDX  | (OPTIONAL, present when T or K is set)
      +-+-+-+-+-+-+-+-+

The VP8 payload header follows the descriptor; bit 0 of its first byte is the
inverse key frame flag P (0 = key frame).
"""

from dataclasses import dataclass

__all__ = [
    "PICTURE_ID_7BIT_MODULO",
    "PICTURE_ID_15BIT_MODULO",
    "TL0PICIDX_MODULO",
    "Vp8Descriptor",
    "Vp8PictureIdRewriter",
    "is_vp8_keyframe",
    "parse_vp8_descriptor",
    "rewrite_vp8_descriptor",
    "rewrite_vp8_descriptor_into",
]

PICTURE_ID_7BIT_MODULO = 1 << 7
PICTURE_ID_15BIT_MODULO = 1 << 15
TL0PICIDX_MODULO = 1 << 8

# first octet
_X_BIT = 0x80
_N_BIT = 0x20
_S_BIT = 0x10
_PID_MASK = 0x07

# extension octet
_I_BIT = 0x80
_L_BIT = 0x40
_T_BIT = 0x20
_K_BIT = 0x10

# picture id octet
_M_BIT = 0x80

# TID / Y / KEYIDX octet
_Y_BIT = 0x20
_KEYIDX_MASK = 0x1F


@dataclass(slots=True)
class Vp8Descriptor:
    start_of_partition: bool
    "S: this packet starts a VP8 partition."
    partition_index: int
    "PID: partition index (0-7)."
    non_reference: bool
    "N: the frame can be discarded without affecting other frames."
    picture_id: int | None
    "Picture id (7 or 15 bits), or None when the I bit is not set."
    picture_id_15bit: bool
    "M: the picture id is coded on 15 bits (two octets)."
    tl0picidx: int | None
    "TL0PICIDX, or None when the L bit is not set."
    tid: int | None
    "Temporal layer index, or None when the T bit is not set."
    layer_sync: bool
    "Y: layer sync bit (only meaningful when the TID/KEYIDX octet is present)."
    keyidx: int | None
    "Temporal key frame index, or None when the K bit is not set."
    size: int
    "Length of the descriptor in bytes."


def parse_vp8_descriptor(payload: bytes) -> Vp8Descriptor:
    """
    Parse the VP8 payload descriptor at the start of an RTP payload.

    Raises ValueError if the payload is empty or the descriptor is truncated.
    """
    length = len(payload)
    if length < 1:
        raise ValueError("VP8 descriptor is too short: empty payload")

    octet = payload[0]
    start_of_partition = bool(octet & _S_BIT)
    partition_index = octet & _PID_MASK
    non_reference = bool(octet & _N_BIT)
    picture_id: int | None = None
    picture_id_15bit = False
    tl0picidx: int | None = None
    tid: int | None = None
    layer_sync = False
    keyidx: int | None = None
    pos = 1

    if octet & _X_BIT:
        if length < 2:
            raise ValueError("VP8 descriptor has X set but no extension octet")
        ext = payload[1]
        pos = 2

        if ext & _I_BIT:
            if length < pos + 1:
                raise ValueError("VP8 descriptor has I set but picture id is missing")
            octet = payload[pos]
            if octet & _M_BIT:
                if length < pos + 2:
                    raise ValueError("VP8 descriptor has truncated 15-bit picture id")
                picture_id = ((octet & 0x7F) << 8) | payload[pos + 1]
                picture_id_15bit = True
                pos += 2
            else:
                picture_id = octet
                pos += 1

        if ext & _L_BIT:
            if length < pos + 1:
                raise ValueError("VP8 descriptor has L set but TL0PICIDX is missing")
            tl0picidx = payload[pos]
            pos += 1

        if ext & (_T_BIT | _K_BIT):
            if length < pos + 1:
                raise ValueError("VP8 descriptor has T or K set but TID/KEYIDX octet is missing")
            octet = payload[pos]
            if ext & _T_BIT:
                tid = octet >> 6
                layer_sync = bool(octet & _Y_BIT)
            if ext & _K_BIT:
                keyidx = octet & _KEYIDX_MASK
            pos += 1

    return Vp8Descriptor(
        start_of_partition=start_of_partition,
        partition_index=partition_index,
        non_reference=non_reference,
        picture_id=picture_id,
        picture_id_15bit=picture_id_15bit,
        tl0picidx=tl0picidx,
        tid=tid,
        layer_sync=layer_sync,
        keyidx=keyidx,
        size=pos,
    )


def _descriptor_size(payload: bytes | bytearray, offset: int) -> int:
    """
    Return the descriptor size without building a Vp8Descriptor, or -1 if the
    descriptor is truncated.
    """
    length = len(payload) - offset
    if length < 1:
        return -1
    if not payload[offset] & _X_BIT:
        return 1
    if length < 2:
        return -1
    ext = payload[offset + 1]
    size = 2
    if ext & _I_BIT:
        if length < 3:
            return -1
        size += 2 if payload[offset + 2] & _M_BIT else 1
    if ext & _L_BIT:
        size += 1
    if ext & (_T_BIT | _K_BIT):
        size += 1
    return size if size <= length else -1


def is_vp8_keyframe(payload: bytes) -> bool:
    """
    Return True if this RTP payload is the first packet of a VP8 key frame:
    S=1, PID=0 and the P bit of the VP8 payload header is 0.

    Never raises: malformed or truncated payloads return False.
    """
    size = _descriptor_size(payload, 0)
    if size < 0 or len(payload) <= size:
        return False
    octet = payload[0]
    if not octet & _S_BIT or octet & _PID_MASK:
        return False
    return not payload[size] & 0x01


def rewrite_vp8_descriptor_into(
    buf: bytearray, offset: int, picture_id: int | None, tl0picidx: int | None
) -> None:
    """
    Patch, in place, the picture id and/or TL0PICIDX of the VP8 descriptor
    which starts at `buf[offset]`.

    `None` keeps the current value. A field absent from the descriptor stays
    absent. A 7-bit picture id receives `picture_id % 128`, a 15-bit one
    `picture_id % 32768`; the length of the buffer never changes.

    Raises ValueError if the descriptor is truncated.
    """
    length = len(buf) - offset
    if offset < 0 or length < 1:
        raise ValueError("VP8 descriptor is too short: empty payload")
    if not buf[offset] & _X_BIT:
        return
    if length < 2:
        raise ValueError("VP8 descriptor has X set but no extension octet")
    ext = buf[offset + 1]
    pos = offset + 2
    end = offset + length

    if ext & _I_BIT:
        if pos >= end:
            raise ValueError("VP8 descriptor has I set but picture id is missing")
        if buf[pos] & _M_BIT:
            if pos + 1 >= end:
                raise ValueError("VP8 descriptor has truncated 15-bit picture id")
            if picture_id is not None:
                buf[pos] = _M_BIT | ((picture_id >> 8) & 0x7F)
                buf[pos + 1] = picture_id & 0xFF
            pos += 2
        else:
            if picture_id is not None:
                buf[pos] = picture_id & 0x7F
            pos += 1

    if ext & _L_BIT:
        if pos >= end:
            raise ValueError("VP8 descriptor has L set but TL0PICIDX is missing")
        if tl0picidx is not None:
            buf[pos] = tl0picidx & 0xFF


def rewrite_vp8_descriptor(payload: bytes, picture_id: int | None, tl0picidx: int | None) -> bytes:
    """
    Return a copy of `payload` with the picture id and/or TL0PICIDX replaced.

    See :func:`rewrite_vp8_descriptor_into` for the rules.
    """
    buf = bytearray(payload)
    rewrite_vp8_descriptor_into(buf, 0, picture_id, tl0picidx)
    return bytes(buf)


def _signed_delta(new: int, old: int, modulo: int) -> int:
    """
    Distance from `old` to `new` in a wrapping space of size `modulo`, in the
    range [-modulo / 2, modulo / 2).
    """
    half = modulo >> 1
    return ((new - old + half) % modulo) - half


class _ContinuousCounter:
    """
    Maps a wrapping input counter (picture id or TL0PICIDX) onto a continuous
    output counter which survives changes of source.

    After `sync()`, the next input maps to last output + 1; following inputs
    keep their distance to that reference input, so repeated inputs (several
    packets of the same picture) map to the same output. Reordered (older)
    inputs map backwards without moving the reference.
    """

    __slots__ = ("_out_modulo", "_ref_in", "_ref_out", "_started", "_sync_pending")

    def __init__(self, out_modulo: int) -> None:
        self._out_modulo = out_modulo
        self._ref_in = 0
        self._ref_out = 0
        self._started = False
        self._sync_pending = False

    def sync(self) -> None:
        self._sync_pending = True

    def map(self, value: int, in_modulo: int) -> int:
        if not self._started:
            # first value ever: identity
            self._started = True
            self._sync_pending = False
            self._ref_in = value
            self._ref_out = value % self._out_modulo
            return self._ref_out

        if self._sync_pending:
            self._sync_pending = False
            self._ref_in = value
            self._ref_out = (self._ref_out + 1) % self._out_modulo
            return self._ref_out

        delta = _signed_delta(value, self._ref_in, in_modulo)
        output = (self._ref_out + delta) % self._out_modulo
        if delta > 0:
            self._ref_in = value
            self._ref_out = output
        return output


class Vp8PictureIdRewriter:
    """
    Per-consumer state keeping picture ids and TL0PICIDX continuous for one
    outgoing VP8 stream, whatever source (simulcast layer, speaker) feeds it.

    Output picture ids live in the 15-bit space; when written into a 7-bit
    descriptor they are reduced modulo 128 which keeps them continuous too.
    """

    __slots__ = ("_has_source", "_picture_id", "_source_key", "_tl0picidx")

    def __init__(self) -> None:
        self._picture_id = _ContinuousCounter(PICTURE_ID_15BIT_MODULO)
        self._tl0picidx = _ContinuousCounter(TL0PICIDX_MODULO)
        self._source_key: object = None
        self._has_source = False

    def rewrite(self, desc: Vp8Descriptor, source_key: object) -> tuple[int | None, int | None]:
        """
        Return the (picture id, TL0PICIDX) to write into the outgoing packet
        described by `desc`; None where the descriptor lacks the field.

        A change of `source_key` (compared with ``!=``) re-bases both counters
        so the new source continues at last output + 1.
        """
        if not self._has_source or source_key != self._source_key:
            if self._has_source:
                self._picture_id.sync()
                self._tl0picidx.sync()
            self._source_key = source_key
            self._has_source = True

        picture_id: int | None = None
        if desc.picture_id is not None:
            picture_id = self._picture_id.map(
                desc.picture_id,
                PICTURE_ID_15BIT_MODULO if desc.picture_id_15bit else PICTURE_ID_7BIT_MODULO,
            )

        tl0picidx: int | None = None
        if desc.tl0picidx is not None:
            tl0picidx = self._tl0picidx.map(desc.tl0picidx, TL0PICIDX_MODULO)

        return picture_id, tl0picidx
