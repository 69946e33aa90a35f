"""smp's own forward pass of smp folders, for test/model/smp-round-trip.test.ts.

Usage: python smp_forward.py FOLDER INPUT.npy OUT.npy [FOLDER INPUT.npy OUT.npy ...]

Each FOLDER is loaded with smp.from_pretrained (as a user loads what `deeplab export --format smp`
wrote), made float64, put in eval mode, and run on INPUT.npy (NCHW, the normalised image); its
logits (NCHW, float64) go to OUT.npy. Prints one JSON line: the versions used.
"""

import json
import os
import sys

# The folders hold every weight (encoder_weights null): nothing is to be downloaded.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import segmentation_models_pytorch as smp  # noqa: E402
import torch  # noqa: E402


def main(args: list[str]) -> None:
    if not args or len(args) % 3 != 0:
        raise SystemExit(__doc__)
    torch.set_grad_enabled(False)
    for i in range(0, len(args), 3):
        folder, input_path, out_path = args[i : i + 3]
        model = smp.from_pretrained(folder).double().eval()
        x = torch.from_numpy(np.load(input_path).astype(np.float64))
        np.save(out_path, model(x).numpy())
    print(json.dumps({"smp": smp.__version__, "torch": torch.__version__}))


if __name__ == "__main__":
    main(sys.argv[1:])
