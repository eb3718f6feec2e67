"""PyTorch architectures whose state dicts ``python -m zoo import --architecture`` knows.

A state dict holds weights, not code, so the importer must build the network itself.

``densenet121-xrv`` is TorchXRayVision's DenseNet-121 (Cohen et al., 2022): torchvision's
DenseNet-121 layout (the same parameter names, so its ``.state_dict()`` loads as it is)
with one input channel (scans scaled to [-1024, 1024]), 224 px, and 18 outputs, one
logit per finding; when the state dict carries ``op_threshs`` the outputs are TorchXRayVision's
calibrated probabilities (a sigmoid, then each finding's operating threshold moved to
0.5). It is written out here because TorchXRayVision and torchvision cannot be installed
beside the CPU build of PyTorch the project tests with; the layer names follow
torchvision's ``densenet121`` so that weights saved from either load unchanged.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional

#: TorchXRayVision's 18 findings in the order of its outputs
#: (``xrv.datasets.default_pathologies``).
XRV_PATHOLOGIES = (
    "Atelectasis", "Consolidation", "Infiltration", "Pneumothorax", "Edema", "Emphysema",
    "Fibrosis", "Effusion", "Pneumonia", "Pleural_Thickening", "Cardiomegaly", "Nodule",
    "Mass", "Hernia", "Lung Lesion", "Fracture", "Lung Opacity", "Enlarged Cardiomediastinum",
)  # fmt: skip


class _DenseLayer(nn.Sequential):
    def __init__(self, inputs: int, growth: int, bottleneck: int) -> None:
        super().__init__(
            OrderedDict(
                norm1=nn.BatchNorm2d(inputs),
                relu1=nn.ReLU(inplace=True),
                conv1=nn.Conv2d(inputs, bottleneck * growth, 1, bias=False),
                norm2=nn.BatchNorm2d(bottleneck * growth),
                relu2=nn.ReLU(inplace=True),
                conv2=nn.Conv2d(bottleneck * growth, growth, 3, padding=1, bias=False),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, super().forward(x)], 1)


class _Transition(nn.Sequential):
    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__(
            OrderedDict(
                norm=nn.BatchNorm2d(inputs),
                relu=nn.ReLU(inplace=True),
                conv=nn.Conv2d(inputs, outputs, 1, bias=False),
                pool=nn.AvgPool2d(2, stride=2),
            )
        )


class DenseNet(nn.Module):
    """DenseNet (Huang et al., 2017) with torchvision's parameter names."""

    def __init__(
        self,
        *,
        blocks: tuple[int, ...] = (6, 12, 24, 16),
        growth: int = 32,
        initial: int = 64,
        bottleneck: int = 4,
        in_channels: int = 1,
        classes: int = len(XRV_PATHOLOGIES),
    ) -> None:
        super().__init__()
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv0=nn.Conv2d(in_channels, initial, 7, stride=2, padding=3, bias=False),
            norm0=nn.BatchNorm2d(initial),
            relu0=nn.ReLU(inplace=True),
            pool0=nn.MaxPool2d(3, stride=2, padding=1),
        )
        width = initial
        for i, count in enumerate(blocks, start=1):
            block = nn.Sequential(
                OrderedDict(
                    (f"denselayer{j + 1}", _DenseLayer(width + j * growth, growth, bottleneck))
                    for j in range(count)
                )
            )
            layers[f"denseblock{i}"] = block
            width += count * growth
            if i != len(blocks):
                layers[f"transition{i}"] = _Transition(width, width // 2)
                width //= 2
        layers["norm5"] = nn.BatchNorm2d(width)
        self.features = nn.Sequential(layers)
        self.classifier = nn.Linear(width, classes)
        self.op_threshs: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = functional.relu(self.features(x))
        pooled = torch.flatten(functional.adaptive_avg_pool2d(features, 1), 1)
        out = self.classifier(pooled)
        if self.op_threshs is not None:  # TorchXRayVision's op_norm: threshold → 0.5
            p = torch.sigmoid(out)
            t = self.op_threshs.to(p.dtype)
            out = torch.where(p < t, p / (2 * t), 1 - (1 - p) / (2 * (1 - t)))
        return out


def densenet121_xrv() -> DenseNet:
    return DenseNet()


ARCHITECTURES = {"densenet121-xrv": (densenet121_xrv, (1, 224, 224))}


def build(name: str, state: dict[str, torch.Tensor]) -> tuple[nn.Module, tuple[int, int, int]]:
    """The architecture ``name`` with ``state`` loaded; returns it and its (C, H, W) input."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}")
    make, shape = ARCHITECTURES[name]
    model = make()
    state = dict(state)
    thresholds = state.pop("op_threshs", None)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shapes that differ
        reason = " ".join(str(exc).split())[:300]
        raise ValueError(f"the state dict does not fit {name}: {reason}") from exc
    if missing or unexpected:
        raise ValueError(
            f"the state dict does not fit {name}: missing {missing[:3]}, unexpected "
            f"{unexpected[:3]}"
        )
    if thresholds is not None:
        model.op_threshs = torch.as_tensor(thresholds, dtype=torch.float32)
    return model.eval(), shape
