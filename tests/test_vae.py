"""The VAE's loss against a hand computation, and the importance-sampled marginal likelihood
against a linear-Gaussian model whose marginal likelihood is known in closed form."""

import math

import torch

from continual.vae import (
    VAE,
    gaussian_kl,
    importance_log_likelihood,
    negative_elbo,
)


def test_negative_elbo_equals_a_hand_computation():
    x = torch.tensor([[1.0, 0.0, 0.5]])
    logits = torch.tensor([[0.0, 2.0, -1.0]])
    mu = torch.tensor([[0.5, -1.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)]])
    reconstruction = (
        math.log(2.0)  # x = 1, σ(0) = 1/2
        + math.log(1 + math.e**2)  # x = 0: −log(1 − σ(2))
        + 0.5 * math.log(1 + math.e)
        + 0.5 * math.log(1 + math.e**-1)  # x = 1/2, logit −1
    )
    kl = 0.5 * ((0.25 + 1 - 1 - 0) + (1 + 4 - 1 - math.log(4.0)))
    torch.testing.assert_close(
        negative_elbo(x, logits, mu, logvar), torch.tensor([reconstruction + kl])
    )


def test_kl_term_matches_torch_distributions():
    mu, logvar = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).sum(-1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), expected)


def _linear_gaussian(seed: int = 0):
    """p(z) = N(0, I_2), p(x | z) = N(Wz + b, s² I_4) with orthogonal columns of W, so that the
    posterior is a diagonal Gaussian; p(x) = N(b, WWᵀ + s² I)."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(4, 2, generator=g, dtype=torch.float64))
    scales = torch.tensor([2.0, 0.7], dtype=torch.float64)
    W, b, s = q * scales, torch.randn(4, generator=g, dtype=torch.float64), 0.5
    x = torch.randn(3, 4, generator=g, dtype=torch.float64) * 2
    marginal = torch.distributions.MultivariateNormal(b, W @ W.T + s**2 * torch.eye(4))
    post_var = 1.0 / (1.0 + scales**2 / s**2)  # (I + WᵀW/s²)⁻¹, diagonal
    post_mu = post_var * ((x - b) @ W) / s**2

    def given_z(z):  # log N(x; Wz + b, s² I) for z of shape (N, S, 2)
        mean = z @ W.T + b
        return torch.distributions.Normal(mean, s).log_prob(x[:, None]).sum(-1)

    return marginal.log_prob(x), post_mu, post_var.log().expand_as(post_mu), given_z


def test_importance_sampling_is_exact_with_the_true_posterior_as_proposal():
    exact, mu, logvar, given_z = _linear_gaussian()
    for samples in (1, 7):
        estimate = importance_log_likelihood(mu, logvar, given_z, samples)
        torch.testing.assert_close(estimate, exact)


def test_importance_sampling_from_the_prior_is_a_lower_bound_that_tightens():
    exact, mu, logvar, given_z = _linear_gaussian()
    prior_mu, prior_logvar = torch.zeros_like(mu), torch.zeros_like(logvar)
    g = torch.Generator().manual_seed(1)
    errors = {}
    for samples in (1, 10, 10_000):
        repeats = torch.stack(
            [
                importance_log_likelihood(prior_mu, prior_logvar, given_z, samples, g)
                for _ in range(50)
            ]
        )
        errors[samples] = (repeats.mean(0) - exact).abs().max()
        assert bool((repeats.mean(0) <= exact).all())  # Jensen: E[log p̂] ≤ log p(x)
    assert errors[10_000] < errors[10] < errors[1]
    assert errors[10_000] < 0.05


def test_vae_likelihood_prefers_its_own_data_and_samples_lie_in_the_unit_interval():
    torch.manual_seed(0)
    vae = VAE(8, (16,), 2)
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
    ones = torch.zeros(64, 8)
    ones[:, :4] = 1.0  # the left half of the "image" lit
    for _ in range(200):
        optimizer.zero_grad()
        vae.loss(ones).backward()
        optimizer.step()
    other = 1.0 - ones[:1]  # the right half lit instead
    g = torch.Generator().manual_seed(0)
    assert vae.log_likelihood(ones[:1], 100, g) > vae.log_likelihood(other, 100, g) + 5
    samples = vae.sample(10, torch.Generator().manual_seed(0))
    assert samples.shape == (10, 8) and bool(((samples >= 0) & (samples <= 1)).all())
    assert bool((samples[:, :4] > 0.9).all() and (samples[:, 4:] < 0.1).all())
