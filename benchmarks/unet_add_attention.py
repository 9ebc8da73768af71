"""Copy a model with self- and cross-attention added at one more UNet level.

The lever of V17 (docs/generator-v2.md, "A fourth lever"): v6's clumps form on its own
sampling path at the 16x16 and 32x32 levels, which have no attention. This
writes a copy of ``--model`` whose down block ``--level`` (and the up block
of the same grid) is a cross-attention block. The new attention outputs
(``proj_out``) start at zero, so the copy computes exactly what the model
did; the script checks that on random inputs, then the copy is fine-tuned
with ``galaxysd finetune --config`` (the recipe is in
``benchmarks/results/generator_v17_attention16.json``).

    python benchmarks/unet_add_attention.py --model assets/demo-model --level 1 --out V17-init
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from diffusers import UNet2DConditionModel


def with_attention(unet: UNet2DConditionModel, level: int) -> UNet2DConditionModel:
    """``unet`` with attention at down block ``level`` and its mirror up block, starting as identity."""
    config = dict(unet.config)
    down, up = list(config["down_block_types"]), list(config["up_block_types"])
    mirror = len(up) - 1 - level  # up blocks count from the innermost level
    if down[level].startswith("CrossAttn"):
        raise SystemExit(f"down block {level} already has attention")
    down[level], up[mirror] = "CrossAttnDownBlock2D", "CrossAttnUpBlock2D"
    new = UNet2DConditionModel.from_config(
        {**config, "down_block_types": down, "up_block_types": up}
    )
    missing, unexpected = new.load_state_dict(unet.state_dict(), strict=False)
    if unexpected or not all(".attentions." in k for k in missing):
        raise SystemExit(f"unexpected tensors: {unexpected or missing}")
    added = (f"down_blocks.{level}.attentions.", f"up_blocks.{mirror}.attentions.")
    for name, module in new.named_modules():
        if name.startswith(added) and name.endswith("proj_out"):
            torch.nn.init.zeros_(module.weight)
            torch.nn.init.zeros_(module.bias)
    return new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="diffusers folder")
    parser.add_argument("--level", type=int, default=1, help="down block index (0 = finest)")
    parser.add_argument("--out", required=True, help="new diffusers folder (must not exist)")
    args = parser.parse_args()
    model, out = Path(args.model), Path(args.out)
    if out.exists():
        raise SystemExit(f"--out {out} exists")
    old = UNet2DConditionModel.from_pretrained(model / "unet", torch_dtype=torch.float32).eval()
    new = with_attention(old, args.level).eval()
    side = old.config.sample_size
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, old.config.in_channels, side, side, generator=g)
    text = torch.randn(2, 77, old.config.cross_attention_dim, generator=g)
    t = torch.tensor([500, 900])
    with torch.no_grad():
        diff = (old(x, t, text).sample - new(x, t, text).sample).abs().max().item()
    count = sum(p.numel() for p in new.parameters()) / 1e6
    print(f"largest output difference {diff:.3g}; {count:.2f}M parameters")
    # The card measures the source model, not this copy.
    shutil.copytree(model, out, ignore=shutil.ignore_patterns("unet", "galaxysd_model.json"))
    new.save_pretrained(out / "unet")
    print(out)


if __name__ == "__main__":
    main()
