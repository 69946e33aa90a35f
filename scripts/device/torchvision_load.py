"""Interop check on a machine with PyTorch: torchvision's DeepLabv3 loads a state dict that
`deeplab export` wrote (strict: every key, shape and dtype), and its logits on an input equal the
logits our engine computed from the same file.

    python3 scripts/device/torchvision_load.py STATE.safetensors INPUT.npy OURS.f32 [--arch mobilenet_v3_large]
"""
import argparse

import numpy as np
import torch
from safetensors.torch import load_file
from torchvision.models import segmentation


def main():
    p = argparse.ArgumentParser()
    p.add_argument('state')
    p.add_argument('input')
    p.add_argument('ours')
    p.add_argument('--arch', default='mobilenet_v3_large')
    a = p.parse_args()
    state = load_file(a.state)
    num_classes = state['classifier.4.weight'].shape[0]
    model = getattr(segmentation, f'deeplabv3_{a.arch}')(weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=False)
    model.load_state_dict(state, strict=True)
    model.eval().double()
    x = torch.from_numpy(np.load(a.input)).double()
    with torch.no_grad():
        out = model(x)['out'].numpy()
    ours = np.fromfile(a.ours, dtype='<f4').reshape(out.shape)
    rel = np.linalg.norm(ours - out) / np.linalg.norm(out)
    agree = (ours.argmax(1) == out.argmax(1)).mean()
    print(f'loaded {len(state)} tensors strictly into deeplabv3_{a.arch}(num_classes={num_classes}); '
          f'logits {list(out.shape)}: relative error {rel:.2e}, argmax agreement {100 * agree:.3f}%')


if __name__ == '__main__':
    main()
