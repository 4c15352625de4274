"""H.264 RTP payload inspection (RFC 6184), packetization modes 0 and 1.

Pure wire-format helpers: list the NAL unit types an RTP payload starts or
carries, and tell whether it begins a key frame (IDR slice or SPS).
"""

__all__ = [
    "NAL_TYPE_FU_A",
    "NAL_TYPE_IDR",
    "NAL_TYPE_PPS",
    "NAL_TYPE_SPS",
    "NAL_TYPE_STAP_A",
    "is_h264_keyframe",
    "nal_unit_types",
]

NAL_TYPE_IDR = 5
NAL_TYPE_SPS = 7
NAL_TYPE_PPS = 8
NAL_TYPE_STAP_A = 24
NAL_TYPE_STAP_B = 25
NAL_TYPE_MTAP16 = 26
NAL_TYPE_MTAP24 = 27
NAL_TYPE_FU_A = 28
NAL_TYPE_FU_B = 29

_NAL_TYPE_MASK = 0x1F
_FU_S_BIT = 0x80
_FU_E_BIT = 0x40

_STAP_A_LENGTH_SIZE = 2


def nal_unit_types(payload: bytes) -> list[int]:
    """
    Return the types of the NAL units which start in this RTP payload.

    - single NAL unit packet (types 1-23): ``[type]``
    - STAP-A (24): the type of every aggregated NAL unit, in order
    - FU-A (28): ``[original type]`` for the first fragment (S bit set),
      ``[]`` for the other fragments

    Raises ValueError on truncated or malformed payloads, reserved types (0,
    30, 31) and interleaved-mode types (STAP-B, MTAP16, MTAP24, FU-B).
    """
    length = len(payload)
    if length < 1:
        raise ValueError("H264 payload is empty")

    nal_type = payload[0] & _NAL_TYPE_MASK

    if 1 <= nal_type <= 23:
        return [nal_type]

    if nal_type == NAL_TYPE_STAP_A:
        types: list[int] = []
        pos = 1
        while pos < length:
            if pos + _STAP_A_LENGTH_SIZE > length:
                raise ValueError("H264 STAP-A length field is truncated")
            size = (payload[pos] << 8) | payload[pos + 1]
            pos += _STAP_A_LENGTH_SIZE
            if size == 0:
                raise ValueError("H264 STAP-A contains a zero-length NAL unit")
            if pos + size > length:
                raise ValueError("H264 STAP-A NAL unit is truncated")
            types.append(payload[pos] & _NAL_TYPE_MASK)
            pos += size
        if not types:
            raise ValueError("H264 STAP-A contains no NAL unit")
        return types

    if nal_type == NAL_TYPE_FU_A:
        if length < 2:
            raise ValueError("H264 FU-A header is truncated")
        fu_header = payload[1]
        if fu_header & _FU_S_BIT and fu_header & _FU_E_BIT:
            raise ValueError("H264 FU-A has both start and end bits set")
        if fu_header & _FU_S_BIT:
            return [fu_header & _NAL_TYPE_MASK]
        return []

    if nal_type in (NAL_TYPE_STAP_B, NAL_TYPE_MTAP16, NAL_TYPE_MTAP24, NAL_TYPE_FU_B):
        raise ValueError(f"H264 NAL unit type {nal_type} needs interleaved mode")

    raise ValueError(f"H264 NAL unit type {nal_type} is reserved")


def is_h264_keyframe(payload: bytes) -> bool:
    """
    Return True if this RTP payload starts or carries an IDR slice (type 5)
    or a sequence parameter set (type 7).

    Never raises: malformed payloads return False.
    """
    try:
        types = nal_unit_types(payload)
    except ValueError:
        return False
    return any(nal_type in (NAL_TYPE_IDR, NAL_TYPE_SPS) for nal_type in types)
