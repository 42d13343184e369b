"""Pure nn.Modules (no I/O): VGG encoder, SCT, decoders, SCTNet and builders by architecture name."""

from .registry import architectures, build
from .sct import SCT
from .sctnet import SCTNet
from .settings import InferenceSettings
from .stylecode import StyleCode

__all__ = ["SCT", "InferenceSettings", "SCTNet", "StyleCode", "architectures", "build"]
