"""sfu/aiortc_glue.py: one DTLS certificate per worker, and the SFU's lean transceivers."""

from __future__ import annotations

import pytest
from aiortc.rtcdtlstransport import RTCCertificate

from sfu import aiortc_glue


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_connections_share_the_workers_certificate_until_it_rotates() -> None:
    clock = Clock()
    shared = aiortc_glue.DtlsCertificate(rotate_s=100.0, clock=clock)
    first = aiortc_glue.create_peer_connection((), certificate=shared)
    second = aiortc_glue.create_peer_connection((), certificate=shared)
    own = aiortc_glue.create_peer_connection(())
    try:
        cert = aiortc_glue.dtls_certificate_of(first)
        assert aiortc_glue.dtls_certificate_of(second) is cert
        assert aiortc_glue.dtls_certificate_of(own) is not cert  # aiortc's own, per connection
        # aiortc's module is left as it was: connections made without one get their own
        import aiortc.rtcpeerconnection as pc_module
        assert pc_module.RTCCertificate is RTCCertificate
        # fingerprints computed once, the same value aiortc computes
        assert cert.getFingerprints() == RTCCertificate.getFingerprints(cert)
        assert cert.getFingerprints() is not cert.getFingerprints()  # callers get copies
        clock.now = 99.0
        assert shared.current() is cert
        clock.now = 100.0
        rotated = shared.current()
        assert rotated is not cert
        assert rotated.getFingerprints() != cert.getFingerprints()
        third = aiortc_glue.create_peer_connection((), certificate=shared)
        assert aiortc_glue.dtls_certificate_of(third) is rotated
        await third.close()
    finally:
        for pc in (first, second, own):
            await pc.close()
    with pytest.raises(ValueError):
        aiortc_glue.DtlsCertificate(rotate_s=0)


async def test_the_sfus_transceivers_have_no_receive_estimator() -> None:
    import aiortc.rtcrtpreceiver as receiver_module

    pc = aiortc_glue.create_peer_connection(())
    try:
        lean = aiortc_glue.add_transceiver(pc, "video", "sendonly")
        plain = pc.addTransceiver("video", direction="sendonly")
        assert aiortc_glue.receiver_estimator(lean.receiver) is None
        assert aiortc_glue.receiver_estimator(plain.receiver) is not None  # aiortc's default
        assert vars(receiver_module)["RemoteBitrateEstimator"].__module__ == "aiortc.rate"
        assert lean.direction == "sendonly" and lean.kind == "video"
    finally:
        await pc.close()
