#!/usr/bin/env bash
# One measured D-ETG discovery campaign: 3 rounds, each followed by the
# simulated three-reviewer panel, then the report (recall of the hidden D-ETGs).
#
#   SKY=<sky folder> bash benchmarks/campaign.sh NAME [extra `discover round` flags]
#
# The fixed settings are the README's campaign rows: top 40 candidates per
# round, 128 positives, the small ResNet for 4 epochs, the composed D-ETG
# prompts (galaxysd_core.gz2.DETG_COMPOSED_PROMPTS), accepted positives
# counted once (`--accepted-share 0`, the paper's recipe and the rounds'
# default before 2026-12-03). Later flags override earlier ones, e.g.
# `--accepted-share 0.75` (the default now), `--classifier.epochs 10`,
# `--min-score 0`, `--synthetic-dir DIR` (benchmarks/detg_standins.py).
# A round that scores no galaxy above the cut ends the campaign early.
set -euo pipefail
name=${1:?usage: SKY=<sky folder> bash benchmarks/campaign.sh NAME [round flags]}
shift
sky=${SKY:?set SKY to the campaign sky (galaxysd sky --n 12000 --size 64 --seed 5)}
start=$(date +%s)
for round in 0 1 2; do
  galaxysd discover round --campaign "$name" --sky "$sky" --n-synthetic 128 --top-k 40 \
    --classifier.arch small --classifier.epochs 4 --accepted-share 0 \
    --prompts "sdss, completely round galaxy AND sdss, dust lane :0.6" \
    "sdss, in-between round galaxy AND sdss, dust lane :0.6" "$@" || break
  galaxysd discover simulate-votes --campaign "$name"
done
galaxysd discover report --campaign "$name"
echo "seconds: $(($(date +%s) - start))"
