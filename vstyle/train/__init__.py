"""Training: data, losses (content, style, CCPL, distillation), loss networks, trainer, checkpoints, export."""
