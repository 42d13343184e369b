"""Pure nn.Modules (no I/O): VGG encoder, SCT, decoders, SCTNet and builders by architecture name."""

from .registry import architectures, build, register
from .sct import SCT
from .sctnet import SCTNet
from .stylecode import StyleCode

__all__ = ["SCT", "SCTNet", "StyleCode", "architectures", "build", "register"]
