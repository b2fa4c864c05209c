"""The page's vividness slider (0..2) as what to render with: every page module that renders
calls `for_vividness`, so the page passes only the slider's value."""

import numpy as np

GREY_RAMP = 0.25  # vividness from 0 to this fades colour in from plain grey


class FadedModel:
    """A model whose predicted colours are scaled by `amount` (0: plain grey); all else is the model's."""

    def __init__(self, model, amount):
        self.model, self.amount = model, float(amount)

    def to_ab(self, raw, vividness=None):
        return self.model.to_ab(raw, vividness) * np.float32(self.amount)

    def __getattr__(self, name):
        return getattr(self.model, name)


def for_vividness(model, vividness):
    """(model to render with, engine vividness) for the page's vividness (0..2).

    A model that is plain grey at vividness 0 (ModelInfo.grey_at_zero: the bundled one) renders as it
    is. For an annealed-mean model the lowest vividness is its most cautious colour, not grey, so the
    page's first GREY_RAMP fades that colour in from plain grey: either way a class can slide from no
    colour to bold."""
    v = float(vividness)
    amount = 1.0 if model.info.grey_at_zero else min(1.0, max(0.0, v / GREY_RAMP))
    return (model if amount >= 1.0 else FadedModel(model, amount)), v
