"""A fully connected variational autoencoder (Kingma & Welling 2014, "Auto-encoding variational
Bayes"): the generator of deep generative replay and the per-class model of the generative
classifier.

Encoder ``input → hidden... → (μ, log σ²)`` of a diagonal Gaussian q(z | x), a standard normal
prior p(z) = N(0, I), decoder ``z → reversed hidden... → input logits`` of independent Bernoulli
pixels p(x | z) (inputs in [0, 1], as van de Ven's MNIST models with their BCE reconstruction
loss). The math is in pure functions: :func:`negative_elbo` (the training loss) and
:func:`importance_log_likelihood` (the marginal likelihood log p(x) estimated with S importance
samples from q, Burda, Grosse & Salakhutdinov 2016; van de Ven, Li & Tolias 2021, Eq. 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOG_2PI = math.log(2 * math.pi)


def gaussian_log_density(z: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; mean, diag(exp(logvar))), summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mean).square() * torch.exp(-logvar)).sum(-1)


def bernoulli_log_likelihood(x: Tensor, logits: Tensor) -> Tensor:
    """log p(x | logits) = Σ_i x_i log σ(l_i) + (1 − x_i) log(1 − σ(l_i)) over the last dimension
    (minus the binary cross-entropy; x may be any value in [0, 1])."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ (μ² + σ² − 1 − log σ²) per row (Kingma & Welling 2014,
    appendix B)."""
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(-1)


def negative_elbo(x: Tensor, logits: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """The VAE loss per sample: reconstruction (binary cross-entropy summed over the inputs, for a
    z drawn from q(z | x)) plus KL(q(z | x) ‖ p(z)). van de Ven's code averages both terms over
    the pixels instead (the same loss divided by the input size; Adam's steps are invariant to
    that scale)."""
    return -bernoulli_log_likelihood(x, logits) + gaussian_kl(mu, logvar)


def importance_log_likelihood(
    mu: Tensor,
    logvar: Tensor,
    log_likelihood: Callable[[Tensor], Tensor],
    samples: int,
    generator: torch.Generator | None = None,
) -> Tensor:
    """log p(x) ≈ log (1/S) Σ_s p(x | z_s) p(z_s) / q(z_s | x), z_s ~ q = N(μ, diag e^logvar).

    ``mu``, ``logvar``: (N, d) the proposal per input; ``log_likelihood(z)`` maps z of shape
    (N, S, d) to log p(x_n | z_ns) of shape (N, S). Unbiased in p(x), so by Jensen's inequality a
    lower bound of log p(x) in expectation, tightening as S grows; exact for any S when q is the
    true posterior. With S = 1 it is a one-sample ELBO."""
    noise = torch.randn((*mu.shape[:1], samples, mu.shape[1]), generator=generator)
    noise = noise.to(device=mu.device, dtype=mu.dtype)
    mean, var = mu[:, None], logvar[:, None]
    z = mean + torch.exp(0.5 * var) * noise
    log_prior = -0.5 * (LOG_2PI + z.square()).sum(-1)
    log_weights = log_likelihood(z) + log_prior - gaussian_log_density(z, mean, var)
    return torch.logsumexp(log_weights, dim=1) - math.log(samples)


class VAE(nn.Module):
    """Encoder and decoder MLPs with ReLU hidden layers (the decoder mirrors the encoder)."""

    def __init__(self, input_dim: int, hidden: Sequence[int] = (400, 400), latent: int = 100):
        super().__init__()
        self.input_dim, self.latent = input_dim, latent
        sizes = [input_dim, *hidden]
        self.encoder = _mlp(sizes)
        self.to_latent = nn.Linear(sizes[-1], 2 * latent)  # μ and log σ², side by side
        self.decoder = _mlp([latent, *reversed(sizes[1:])])
        self.to_input = nn.Linear(sizes[-1] if hidden else latent, input_dim)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """μ and log σ² of q(z | x) for flattened inputs ``x`` (N, input_dim)."""
        mu, logvar = self.to_latent(self.encoder(x)).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        """Logits of p(x | z), one per input unit."""
        return self.to_input(self.decoder(z))

    def loss(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Mean negative ELBO of the batch ``x`` (N, input_dim), one reparameterised z each."""
        mu, logvar = self.encode(x)
        noise = torch.randn(mu.shape, generator=generator).to(device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * noise
        return negative_elbo(x, self.decode(z), mu, logvar).mean()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` generated inputs: z ~ p(z), then the decoder's mean σ(logits) (as van de Ven's
        replay uses the decoder output, not a Bernoulli draw)."""
        device = self.to_input.weight.device
        z = torch.randn((n, self.latent), generator=generator).to(device)
        return torch.sigmoid(self.decode(z))

    @torch.no_grad()
    def log_likelihood(
        self,
        x: Tensor,
        samples: int,
        generator: torch.Generator | None = None,
        chunk: int = 1 << 22,
    ) -> Tensor:
        """log p(x) per row of ``x`` (N, input_dim) by :func:`importance_log_likelihood`, in
        chunks of rows so that at most ``chunk`` decoded values are held at once."""
        rows = max(1, chunk // (samples * self.input_dim))
        parts = []
        for part in x.split(rows):
            mu, logvar = self.encode(part)

            def given_z(z: Tensor, part: Tensor = part) -> Tensor:
                logits = self.decode(z)
                return bernoulli_log_likelihood(part[:, None].expand_as(logits), logits)

            parts.append(importance_log_likelihood(mu, logvar, given_z, samples, generator))
        return torch.cat(parts)


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers)
