#!/bin/sh
# Makes a Python that runs segmentation_models_pytorch, for the smp round-trip test
# (test/model/smp-round-trip.test.ts; README.md here). Usage: scripts/smp/make-venv.sh [VENV] [SMP_SOURCE]
#   VENV        the virtual environment to make (default /tmp/venv-smp)
#   SMP_SOURCE  smp's source tree: `git archive HEAD` of qubvel-org/segmentation_models.pytorch
#               (smp is not on the local package index; default /tmp/smp-src)
set -eu
# The local index (pip's configuration lists it as an extra index; PyPI itself is unreachable here).
export PIP_INDEX_URL="${PIP_INDEX_URL:-file:///opt/pypi/simple}"
VENV=${1:-/tmp/venv-smp}
SRC=${2:-/tmp/smp-src}
python3 -m venv "$VENV"
"$VENV/bin/pip" install "torch==2.13.0+cpu" "torchvision==0.28.0" timm huggingface-hub safetensors pillow tqdm numpy
"$VENV/bin/pip" install --no-deps "$SRC"
# torchvision 0.28's fake kernels for nms and qnms do not register under torch 2.13: drop the two
# decorators so that torchvision (which timm imports) imports.
META=$("$VENV/bin/python" -c 'import importlib.util as u; print(u.find_spec("torchvision").submodule_search_locations[0])')/_meta_registrations.py
sed -i -E '/^@register_meta\("(nms|qnms)"\)|^@torch\.library\.register_fake\("torchvision::(nms|qnms)"\)/d' "$META"
HF_HUB_OFFLINE=1 "$VENV/bin/python" -c 'import segmentation_models_pytorch as smp, torch; print("smp", smp.__version__, "torch", torch.__version__)'
