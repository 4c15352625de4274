"""The publisher's uplink policy (sfu/uplink.py): one REMB per connection, steps down on
loss, trial steps up after a hold that doubles when a trial fails."""

from __future__ import annotations

from sfu.uplink import (
    AUDIO,
    AUDIO_ALLOWANCE_BPS,
    FULL,
    HOLD_S,
    LOW,
    MAX_HOLD_S,
    UplinkPolicy,
    layers_kept,
    remb_ceiling,
)

TWO_LAYERS = {"mic", "camera", "camera-low"}


def feed(policy: UplinkPolicy, start: float, seconds: int, loss: float,
         packets: int = 100, *, until_change: bool = False) -> list[tuple[float, int]]:
    changes = []
    for i in range(seconds):
        now = start + i
        level = policy.on_interval(now, packets, int(packets * loss))
        if level is not None:
            changes.append((now, level))
            if until_change:
                break
    return changes


def test_the_remb_ceiling_is_the_sum_of_what_the_connection_sends() -> None:
    # one value for the whole connection: both layers and the microphone
    assert remb_ceiling(FULL, TWO_LAYERS) == 600_000 + 150_000 + AUDIO_ALLOWANCE_BPS
    assert remb_ceiling(LOW, TWO_LAYERS) == 150_000 + AUDIO_ALLOWANCE_BPS
    assert remb_ceiling(AUDIO, TWO_LAYERS) == AUDIO_ALLOWANCE_BPS
    # the screen is not the camera: it stays at every level
    with_screen = TWO_LAYERS | {"screen"}
    assert remb_ceiling(AUDIO, with_screen) == AUDIO_ALLOWANCE_BPS + 1_500_000
    assert layers_kept(LOW, with_screen) == {"mic", "camera-low", "screen"}
    assert layers_kept(FULL, {"mic", "camera"}) == {"mic", "camera"}


def test_a_clean_uplink_stays_full() -> None:
    policy = UplinkPolicy()
    assert feed(policy, 0, 120, 0.0) == []
    assert policy.level == FULL


def test_one_lossy_second_is_not_congestion() -> None:
    policy = UplinkPolicy()
    for now, loss in enumerate([0.0, 0.3, 0.0, 0.3, 0.0, 0.3, 0.0]):
        assert policy.on_interval(now, 100, int(100 * loss)) is None
    assert policy.level == FULL


def test_sustained_loss_steps_down_one_level_at_a_time() -> None:
    policy = UplinkPolicy()
    changes = feed(policy, 0, 6, 0.2)
    assert [level for _, level in changes] == [LOW, AUDIO]
    assert changes[0][0] == 1  # the second lossy interval
    assert policy.level == AUDIO
    # nothing below audio
    assert feed(policy, 6, 10, 0.5) == []


def test_a_single_camera_layer_goes_from_full_to_audio() -> None:
    policy = UplinkPolicy(has_low_layer=False)
    changes = feed(policy, 0, 2, 0.2)
    assert changes == [(1, AUDIO)]


def test_too_few_packets_say_nothing() -> None:
    policy = UplinkPolicy()
    assert feed(policy, 0, 10, 0.5, packets=5) == []
    assert policy.level == FULL


def test_recovery_is_a_trial_after_the_hold() -> None:
    policy = UplinkPolicy()
    feed(policy, 0, 2, 0.2)  # down to LOW at t=1
    assert policy.level == LOW
    changes = feed(policy, 2, 30, 0.0)
    assert changes, "never tried the upper layer again"
    first_up = changes[0]
    assert first_up[1] == FULL
    assert first_up[0] - 1 >= HOLD_S


def test_a_failed_trial_doubles_the_hold_and_a_held_one_resets_it() -> None:
    policy = UplinkPolicy()
    feed(policy, 0, 2, 0.2)  # LOW at t=1
    up = feed(policy, 2, 30, 0.0, until_change=True)[0][0]
    # the trial brings loss back at once: down again, and the next wait is twice as long
    down = feed(policy, up + 1, 2, 0.2)
    assert down and down[-1][1] == LOW
    assert policy.hold_s == 2 * HOLD_S
    again = feed(policy, up + 3, 60, 0.0, until_change=True)
    assert again[0][0] - down[-1][0] >= 2 * HOLD_S
    # repeated failures stop at the ceiling
    for _ in range(10):
        now = again[0][0]
        feed(policy, now + 1, 2, 0.2)
        again = feed(policy, now + 3, 200, 0.0, until_change=True)
    assert policy.hold_s == MAX_HOLD_S
    # a trial that holds long enough makes the next wait short again
    feed(policy, again[0][0] + 1, 40, 0.0)
    assert policy.hold_s == HOLD_S


def test_middling_loss_neither_steps_down_nor_up() -> None:
    policy = UplinkPolicy()
    feed(policy, 0, 2, 0.2)
    assert policy.level == LOW
    assert feed(policy, 2, 60, 0.05) == []  # between clean and lossy: stay
    assert policy.level == LOW
