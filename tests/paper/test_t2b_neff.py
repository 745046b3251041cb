"""T2b's experiment: the decision rule on synthetic results."""

from paper.experiments import t2b_neff
from tests.paper.helpers import decide, edit


def test_T2b_holds_when_realised_neff_follows_the_multinomial_prediction(synth):
    row = decide(t2b_neff, synth)["T2b"]
    assert row.holds, row.decision
    assert "B = 32" in row.decision


def test_predicted_neff_matches_multinomial_batches():
    """B / (1 + (B - 1) / N_eff(P)) against Monte Carlo of Multinomial(B, P) batches."""
    import numpy as np

    rng = np.random.default_rng(0)
    for conc, tol in ((5.0, 0.02), (0.5, 0.06)):
        P = rng.dirichlet(np.full(64, conc))
        counts = rng.multinomial(32, P, size=20000)
        realised = (32.0**2 / (counts**2).sum(1)).mean()
        pred = t2b_neff.predicted_n_eff(1.0 / (P**2).sum(), 32.0)
        # first order in the fluctuation of sum c^2; Jensen: the realised mean is above it
        assert 0 <= realised / pred - 1 < tol, (conc, realised, pred)


def test_T2b_fails_when_realised_neff_departs_from_the_prediction(own):
    edit(own / "neff.nc", "n_eff", lambda ne: ne * 0.85)
    assert not decide(t2b_neff, own)["T2b"].holds
