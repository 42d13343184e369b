"""Pure nn.Modules (no I/O): VGG encoder, SCT, decoders, SCTNet and builders by architecture name."""

from . import sctnet_mobile  # noqa: F401  (registers "sctnet-mobile")
from .registry import architectures, build, register
from .sct import SCT
from .sctnet import SCTNet
from .settings import InferenceSettings
from .stylecode import StyleCode

__all__ = ["SCT", "InferenceSettings", "SCTNet", "StyleCode", "architectures", "build", "register"]
