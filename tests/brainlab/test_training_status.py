"""Training-status rules on constructed histories (reference §4.4), as the pipeline applies them.

The pipeline's ``SessionTrainingStatus`` calls these rules (``brainlab.simulate.training_rules``)
on a subject's history; here each rule is exercised on sessions built to pass or fail it.
Choices are deterministic (exact proportions of the model), so fits land near the parameters.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import psychofit
import pytest

from brainlab.simulate.training_rules import SessionTrials, decide_status, training_statuses

TRAINING = "_iblrig_tasks_trainingChoiceWorld6.4.2"
BIASED = "_iblrig_tasks_biasedChoiceWorld6.4.2"
EPHYS = "_iblrig_tasks_ephysChoiceWorld6.4.2"
FULL_SET = (1.0, 0.25, 0.125, 0.0625, 0.0)
START = dt.datetime(2024, 1, 8, 9, 0)


def session(i: int, pars: dict[float, list[float]], n: int = 500, protocol: str = TRAINING,
            board: str = "_iblrig_lab_behavior_1", delay: float = 0.0, contrasts: tuple[float, ...] = FULL_SET,
            rt: float = 0.4) -> SessionTrials:
    """A session whose choices follow ``erf_psycho_2gammas`` per prob_left block exactly."""
    signed = np.array(sorted(set(contrasts) | {-c for c in contrasts}))
    cl, cr, choice, pl = [], [], [], []
    per_block = n // len(pars)
    for p_left, block_pars in pars.items():
        per_contrast = max(per_block // signed.size, 1)
        for s in signed:
            p_right = psychofit.erf_psycho_2gammas(block_pars, np.array([s * 100]))[0]
            n_right = round(p_right * per_contrast)
            choice += [-1] * n_right + [1] * (per_contrast - n_right)
            cl += [abs(s) if s < 0 else np.nan] * per_contrast
            cr += [s if s > 0 else (np.nan if s < 0 else 0.0)] * per_contrast
            pl += [p_left] * per_contrast
    k = len(choice)
    trials = {"contrastLeft": np.array(cl), "contrastRight": np.array(cr), "choice": np.array(choice),
              "probabilityLeft": np.array(pl), "stimOn_times": np.arange(k) * 3.0,
              "response_times": np.arange(k) * 3.0 + rt}
    return SessionTrials.from_trials(f"s{i:03d}", START + dt.timedelta(days=i), protocol, board, delay, trials)


GOOD = [2.0, 12.0, 0.04, 0.04]
OK_1A = [5.0, 15.0, 0.1, 0.1]
BAD = [0.0, 60.0, 0.3, 0.3]


def statuses(history: list[SessionTrials]) -> list[str]:
    return [d.status for d in training_statuses(history)]


def test_in_training_when_nothing_passes() -> None:
    assert statuses([session(i, {0.5: BAD}) for i in range(5)]) == ["in_training"] * 5


def test_trained_1a_needs_three_sessions_over_200_trials_and_the_fit() -> None:
    hist = [session(i, {0.5: OK_1A}, n=300) for i in range(4)]
    assert statuses(hist) == ["in_training", "in_training", "trained_1a", "trained_1a"]


def test_trained_1a_needs_the_low_contrasts() -> None:
    hist = [session(i, {0.5: OK_1A}, n=300, contrasts=(1.0, 0.5, 0.25)) for i in range(4)]
    assert statuses(hist)[-1] == "in_training"


def test_trained_1b_needs_400_trials_low_lapses_and_fast_responses() -> None:
    assert statuses([session(i, {0.5: GOOD}, n=500) for i in range(3)])[-1] == "trained_1b"
    assert statuses([session(i, {0.5: GOOD}, n=500, rt=2.5) for i in range(3)])[-1] == "trained_1a"
    assert statuses([session(i, {0.5: GOOD}, n=380) for i in range(3)])[-1] == "trained_1a"


def _biased(i: int, shift: float = 8.0, n: int = 900, **kw: object) -> SessionTrials:
    pars = {0.5: GOOD, 0.2: [GOOD[0] - shift, *GOOD[1:]], 0.8: [GOOD[0] + shift, *GOOD[1:]]}
    return session(i, pars, n=n, protocol=kw.pop("protocol", BIASED), **kw)  # type: ignore[arg-type]


def test_ready4ephysrig_needs_a_bias_shift_between_blocks() -> None:
    hist = [session(i, {0.5: GOOD}) for i in range(3)] + [_biased(3 + i) for i in range(3)]
    assert statuses(hist)[-1] == "ready4ephysrig"
    flat = [session(i, {0.5: GOOD}) for i in range(3)] + [_biased(3 + i, shift=1.0) for i in range(3)]
    assert statuses(flat)[-1] == "trained_1b"


def test_biased_sessions_without_both_blocks_count_as_trained_1b() -> None:
    hist = [session(i, {0.5: OK_1A}, n=300) for i in range(3)]
    hist += [session(3 + i, {0.5: GOOD}, n=500, protocol=BIASED) for i in range(3)]
    assert statuses(hist)[-1] == "trained_1b"


def test_ready4delay_after_ephysrig_on_an_ephys_rig() -> None:
    hist = [_biased(i) for i in range(3)]
    hist.append(_biased(3, board="_iblrig_lab_ephys_0"))
    assert statuses(hist)[-2:] == ["ready4ephysrig", "ready4delay"]


def test_ready4recording_needs_three_ephys_rig_sessions_and_a_delay() -> None:
    rig = "_iblrig_lab_ephys_0"
    hist = [_biased(i) for i in range(3)] + [_biased(3 + i, board=rig) for i in range(3)]
    assert statuses(hist)[-1] == "ready4delay"  # no delay yet
    hist.append(_biased(6, board=rig, delay=16 * 60))
    assert statuses(hist)[-1] == "ready4recording"


def test_statuses_are_sticky() -> None:
    hist = [session(i, {0.5: OK_1A}, n=300) for i in range(3)] + [session(3 + i, {0.5: BAD}) for i in range(3)]
    assert statuses(hist)[2:] == ["trained_1a"] * 4


def test_untrainable_after_40_sessions() -> None:
    hist = [session(i, {0.5: BAD}, n=100, contrasts=(1.0, 0.5)) for i in range(41)]
    out = statuses(hist)
    assert out[38] == "in_training" and out[39] == "untrainable" and out[40] == "untrainable"


def test_unbiasable_is_never_given() -> None:
    # IBL's latent bug: 40 biased sessions failing the block criteria set 'unbiasable' in a local
    # variable that a later rule overwrote, so it was never stored. brainlab gives what IBL stored.
    hist = [session(i, {0.5: GOOD}) for i in range(3)] + [_biased(3 + i, shift=0.5, n=380) for i in range(41)]
    out = statuses(hist)
    assert "unbiasable" not in out and out[-1] == "trained_1b"


def test_good_enough_for_brainwide_map() -> None:
    hist = [_biased(i, protocol=EPHYS) for i in range(2)]
    hist.append(session(2, {0.5: BAD}, protocol=EPHYS))
    decisions = training_statuses(hist)
    assert [d.good_enough_for_brainwide_map for d in decisions] == [True, True, False]


def test_order_of_the_input_does_not_matter() -> None:
    hist = [session(i, {0.5: OK_1A}, n=300) for i in range(4)]
    assert statuses(hist[::-1]) == statuses(hist)


@pytest.mark.parametrize("n_earlier", [0, 2])
def test_decide_status_reads_only_the_given_history(n_earlier: int) -> None:
    hist = [session(i, {0.5: OK_1A}, n=300) for i in range(3)]
    earlier = ["trained_1a"] * n_earlier
    assert decide_status(hist, earlier).status == "trained_1a"
