"""The webcast's rules: chapters from the floor log, retention, the access cookie."""

from __future__ import annotations

import pytest

from meeting_server.webcast import default_access
from meeting_server.webcast_access import AccessError, check, sign
from webcast.chapters import chapters
from webcast.retention import DAY_S, Archived, expired

T0 = 1_800_000_000.0


def row(event: str, at: float, grant: str, **kw: object) -> dict[str, object]:
    return {"event": event, "at": at, "grant_id": grant, **kw}


def test_chapters_are_the_interventions_with_offsets_into_the_recording() -> None:
    log = [
        row("request", T0 + 1, ""),
        row("intervention-start", T0 + 5, "g1", name="Ms Dupont", member_state="France",
            language="fr", kind="intervention"),
        row("intervention-end", T0 + 65, "g1", duration_s=60.0),
        row("intervention-start", T0 + 70, "g2", name="Mr Li", member_state="China",
            language="zh", kind="right-of-reply"),
        row("mute", T0 + 80, ""),
    ]
    found = chapters(log, recording_start=T0 + 2)
    assert [(c.name, c.member_state, c.language, c.kind) for c in found] == [
        ("Ms Dupont", "France", "fr", "intervention"), ("Mr Li", "China", "zh",
                                                        "right-of-reply")]
    assert found[0].start_s == 3.0 and found[0].duration_s == 60.0
    assert found[1].start_s == 68.0 and found[1].duration_s is None  # still speaking
    assert found[0].to_json()["memberState"] == "France"


def test_an_intervention_begun_before_the_recording_starts_it_at_zero() -> None:
    log = [row("intervention-start", T0, "g1", name="Chair's guest"),
           row("intervention-end", T0 + 30, "g1", duration_s=30.0)]
    (chapter,) = chapters(log, recording_start=T0 + 10)
    assert chapter.start_s == 0.0 and chapter.duration_s == 20.0
    # one after the recording ended is not a chapter; an end without a start is ignored
    assert chapters([row("intervention-start", T0 + 100, "g9"),
                     row("intervention-end", T0 + 5, "gX", duration_s=1.0)],
                    recording_start=T0, recording_end=T0 + 50) == []


def test_retention() -> None:
    archives = [Archived("kept", T0, None), Archived("young", T0, 30),
                Archived("old", T0 - 31 * DAY_S, 30)]
    assert expired(archives, T0 + 1) == ["old"]
    assert expired(archives, T0 + 30 * DAY_S) == ["young", "old"]


def test_access_cookie() -> None:
    value = sign("s3cret", "m1", int(T0 + 60))
    check("s3cret", value, "m1", T0)
    with pytest.raises(AccessError, match="expired"):
        check("s3cret", value, "m1", T0 + 61)
    with pytest.raises(AccessError, match="another meeting"):
        check("s3cret", sign("s3cret", "m2", int(T0 + 60)), "m1", T0)
    with pytest.raises(AccessError, match="forged"):
        check("other", value, "m1", T0)
    meeting, expiry, mac = value.split(".")
    with pytest.raises(AccessError, match="forged"):
        check("s3cret", f"{meeting}.{int(expiry) + 3600}.{mac}", "m1", T0)
    for bad in (None, "", "x", "m1.abc.def", "a.b.c.d", "m1." + "9" * 300 + ".x"):
        with pytest.raises(AccessError):
            check("s3cret", bad, "m1", T0)


def test_default_access_setting() -> None:
    assert default_access({}) == "off"
    assert default_access({"ROSTRUM_WEBCAST": "public"}) == "public"
    with pytest.raises(ValueError):
        default_access({"ROSTRUM_WEBCAST": "everyone"})


def test_webcast_strings_exist_in_all_six_languages() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "web" / "static" / "messages" /
            "webcast.js").read_text(encoding="utf-8")
    blocks = dict(re.findall(r"\n  (\w\w): \{(.*?)\n  \}", text, flags=re.S))
    assert set(blocks) == {"ar", "zh", "en", "fr", "ru", "es"}
    keys = {lang: set(re.findall(r'"(webcast\.[\w.]+)":', body)) for lang, body in
            blocks.items()}
    assert len(keys["en"]) > 15
    for lang, found in keys.items():
        assert found == keys["en"], (lang, found ^ keys["en"])


def test_only_the_webcast_hls_files_pass_the_per_address_http_limit() -> None:
    from meeting_server.ratelimit import EXEMPT_FILES

    for path in ("/m/sg17/webcast/master.m3u8", "/m/sg17/webcast/audio/fr/index.m3u8",
                 "/m/sg17/webcast/video/lo/g1-00012.m4s", "/m/sg17/webcast/audio/fr/init-g1.mp4",
                 "/m/sg17/archive/subtitles/fr/g2-00003.vtt"):
        assert EXEMPT_FILES.fullmatch(path), path
    for path in ("/m/sg17/webcast", "/m/sg17/webcast/access", "/m/sg17/webcast/floor.json",
                 "/m/sg17/archive/chapters.json", "/m/sg17/archive/download/fr.m4a",
                 "/m/sg17/archive/download/fr.mp4",
                 "/api/meetings/sg17/webcast", "/m/sg17/webcast/x.m3u8/access",
                 "/m/sg17/room.m3u8", "/api/x/m/a/webcast/b.m3u8"):
        assert not EXEMPT_FILES.fullmatch(path), path
