"""Temporal stability for video: carry the predicted colour along optical flow so frames stop flickering.

Colorizing each frame on its own makes colours jump between frames, because the network is unsure
and its guess tips one way or the other. `TemporalStabilizer` keeps a running estimate of the
network's raw output (logits over a/b bins, at the network's small output resolution), moves it with
the motion (DIS optical flow on a small copy of L) and blends it with each new prediction, but only
where the flow can be trusted: forward and backward flow agree and the warped previous L matches the
new L. Elsewhere (occlusions, new objects) the fresh prediction is used as is, so moving things are
not smeared; at a scene cut the estimate starts afresh. It only ever changes colour, never L.

Every `key_interval`-th frame (and every cut, and every frame whose motion is mostly untrustworthy)
gets a fresh prediction; the frames between are carried along the flow alone, halving the network's
work. The raw output is blended linearly: for logits that is a geometric mixture of the predicted
distributions, which keeps the colours both frames find likely, so the decoded colour (vividness)
stays as vivid as per-frame output. Mixing probabilities instead (an arithmetic mixture) spreads the
mass and measured 5-8 points less colourful on the fire2 sample (benchmarks/video.py).
"""

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Motion:
    """How one frame relates to the one before it (from L alone, so it is known before the network runs)."""

    small: np.ndarray  # the frame's small uint8 L, used for flow
    flow: np.ndarray | None = None  # h x w x 2 backward flow at the small size: where each pixel was before
    trust: np.ndarray | None = None  # h x w float32, 1 where that flow can be trusted
    cut: bool = True  # nothing to carry over (first frame or a scene cut)
    key: bool = True  # the frame needs a fresh network prediction


class TemporalStabilizer:
    """Stateful: `track` every frame in order, then `apply` them in the same order. One per video."""

    def __init__(
        self,
        strength=0.85,
        key_interval=2,
        flow_long_side=160,
        photo_tolerance=6.0,
        key_trust=0.8,
        cut_trust=0.3,
        cut_histogram=0.5,
        interpolation=cv2.INTER_CUBIC,
    ):
        self.strength = float(strength)  # weight of the carried estimate where flow is trusted
        self.key_interval = max(1, int(key_interval))
        self.flow_long_side = int(flow_long_side)
        self.photo_tolerance = float(photo_tolerance)  # L units
        self.key_trust = float(key_trust)  # below this share of trusted pixels: predict afresh
        self.cut_trust = float(cut_trust)  # below this share: a scene cut (start afresh)
        self.cut_histogram = float(cut_histogram)  # above this change of the L histogram: a cut
        self.interpolation = interpolation  # of the carried estimate's warp (see warp_planes)
        self._flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.cuts = 0
        self.predicted = 0  # frames that used a fresh prediction
        self._state = None  # C x h x w: the carried raw output (logits or a/b)
        self._prev = None  # small uint8 L of the last tracked frame
        self._hist = None
        self._since_key = 0

    def track(self, L):
        """Motion of this frame (full-resolution L, 0..100) relative to the last tracked one."""
        small = self._small_L(L)
        hist = cv2.calcHist([small], [0], None, [16], [0, 256]).ravel() / small.size
        motion = Motion(small)
        confidence = 0.0  # share of the pixels whose motion is trusted
        if self._prev is not None and self._prev.shape == small.shape:
            if 0.5 * np.abs(hist - self._hist).sum() <= self.cut_histogram:
                motion.flow, motion.trust = self._motion(small, self._prev)
                confidence = float(motion.trust.mean())
                motion.cut = confidence < self.cut_trust
            if motion.cut:
                self.cuts += 1
        motion.key = motion.cut or self._since_key + 1 >= self.key_interval or confidence < self.key_trust
        self._since_key = 0 if motion.key else self._since_key + 1
        self._prev, self._hist = small, hist
        return motion

    def apply(self, motion, raw=None):
        """The frame's stabilised raw output (C x h x w); `raw` (its own prediction) is required on key frames."""
        if raw is None and (motion.key or self._state is None):
            raise ValueError("a key frame needs its prediction")
        if motion.cut or self._state is None:
            state = np.array(raw, np.float32)  # a copy: the caller's array is left alone
        else:
            c, sh, sw = self._state.shape
            h, w = motion.small.shape
            flow = cv2.resize(motion.flow, (sw, sh), interpolation=cv2.INTER_AREA) * np.array(
                [sw / w, sh / h], np.float32
            )
            state = warp_planes(self._state, flow, self.interpolation)
            if raw is not None:
                current = np.asarray(raw, np.float32)
                if current.shape != state.shape:
                    state = current
                else:
                    weight = self.strength * cv2.resize(motion.trust, (sw, sh), interpolation=cv2.INTER_AREA)
                    state = state * weight + current * (1.0 - weight)
        self.predicted += raw is not None
        self._state = state
        return state

    def _motion(self, small, prev):
        """Backward flow (this frame -> the previous one, `prev`) and where it is trustworthy."""
        # None: OpenCV allocates the flow (its type stubs insist on an output array)
        back = self._flow.calc(small, prev, None)  # type: ignore[call-overload]
        fwd = self._flow.calc(prev, small, None)  # type: ignore[call-overload]
        h, w = small.shape
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        mx, my = gx + back[..., 0], gy + back[..., 1]
        inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        fwd_there = cv2.remap(fwd, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        loop = back + fwd_there  # ~0 where the motion is consistent both ways (Sundaram et al. 2010)
        consistent = (loop**2).sum(-1) < 0.01 * ((back**2).sum(-1) + (fwd_there**2).sum(-1)) + 0.5
        prev_there = cv2.remap(prev, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        same = cv2.absdiff(small, prev_there) < self.photo_tolerance * 2.55
        return back, (inside & consistent & same).astype(np.float32)

    def _small_L(self, L):
        H, W = L.shape
        s = min(1.0, self.flow_long_side / max(H, W))
        size = (max(16, round(W * s)), max(16, round(H * s)))  # DIS needs a side of 12 or more
        small = cv2.resize(L.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        return cv2.convertScaleAbs(small, alpha=2.55)


def warp_planes(planes, flow, interpolation=cv2.INTER_CUBIC):
    """Backward warp of C x h x w planes by an h x w x 2 flow, in one cv2.remap call.

    cv2.remap handles at most 4 channels, so the planes are stacked into one tall image (each padded
    by 2 repeated rows, so the cubic kernel never reads a neighbouring plane) and each plane's rows get
    their own offset in the map. The estimate is warped again every frame, so the kernel's character
    accumulates: bilinear blurs the logits a little more each time, bicubic sharpens them. Which
    suits depends on the model's decode (TemporalStabilizer's `interpolation`): for the annealed
    mean, bilinear cost 30 points of colourfulness on the fire2 sample; for the scaled posterior
    mean, bicubic made fire2 22 % more colourful than per-frame output and bilinear 19 % less, with
    half the warping error (benchmarks/video.py)."""
    c, h, w = planes.shape
    pad = 2
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx = np.clip(gx + flow[..., 0], 0, w - 1)
    my = np.clip(gy + flow[..., 1], 0, h - 1) + pad
    tall_x = np.broadcast_to(mx, (c, h, w)).reshape(c * h, w)
    tall_y = (my[None] + (np.arange(c, dtype=np.float32) * (h + 2 * pad))[:, None, None]).reshape(c * h, w)
    tall = np.pad(np.asarray(planes, np.float32), ((0, 0), (pad, pad), (0, 0)), mode="edge").reshape(-1, w)
    out = cv2.remap(tall, tall_x, tall_y, interpolation, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(c, h, w)
