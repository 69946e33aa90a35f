"""PyTorch's DeepLabv3-ResNet-50 (torchvision, random weights, float32) as the native peer of the
model benchmark on a CUDA GPU. Timing matches bench/model.ts: wall time from the normalised input
in host memory to the logits in host memory, median of the repeats after warm-up.

    python3 bench/torch_peer.py [--size 513] [--batches 1,8] [--repeats 20] [--autocast] [--out FILE]

With --autocast the forward runs under torch.autocast in float16 (PyTorch's own mixed
precision on tensor cores): the figure to set beside our half precision on subgroup matrices.
"""
import contextlib
import argparse
import json
import statistics
import time

import torch
import torchvision
from torchvision.models.segmentation import deeplabv3_resnet50
from torchvision.models.segmentation.deeplabv3 import DeepLabHead, DeepLabV3
from torchvision.models._utils import IntermediateLayerGetter


def resnet50_deeplab(output_stride: int) -> torch.nn.Module:
    if output_stride == 8:
        return deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=False)
    # Output stride 16: only layer4 is dilated (torchvision's builder fixes OS 8).
    backbone = torchvision.models.resnet50(weights=None, replace_stride_with_dilation=[False, False, True])
    body = IntermediateLayerGetter(backbone, return_layers={'layer4': 'out'})
    return DeepLabV3(body, DeepLabHead(2048, 21), None)


def time_model(model, batch, size, repeats, warmup, autocast):
    x_host = torch.randn(batch, 3, size, size).pin_memory()
    times = []
    first = None
    mixed = torch.autocast('cuda', dtype=torch.float16) if autocast else contextlib.nullcontext()
    with torch.inference_mode(), mixed:
        for i in range(warmup + repeats):
            t0 = time.perf_counter()
            out = model(x_host.to('cuda', non_blocking=True))['out'].cpu()
            dt = (time.perf_counter() - t0) * 1000
            if first is None:
                first = dt
            if i >= warmup:
                times.append(dt)
    assert out.shape == (batch, 21, size, size)
    return statistics.median(times), first


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--size', type=int, default=513)
    p.add_argument('--batches', default='1,8')
    p.add_argument('--strides', default='16,8')
    p.add_argument('--repeats', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--autocast', action='store_true', help='float16 autocast instead of float32')
    p.add_argument('--out', default='bench/results/torch-peer.json')
    a = p.parse_args()
    # Plain float32, as our engine computes: no TF32 tensor-core shortcuts.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    results = []
    for stride in [int(s) for s in a.strides.split(',')]:
        torch.manual_seed(0)
        model = resnet50_deeplab(stride).cuda().eval()
        for batch in [int(b) for b in a.batches.split(',')]:
            median, first = time_model(model, batch, a.size, a.repeats, a.warmup, a.autocast)
            peak = torch.cuda.max_memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            engine = f'pytorch {torch.__version__} cuda' + (' fp16 autocast' if a.autocast else '')
            row = {'model': f'resnet50-os{stride}-{a.size}', 'batch': batch, 'engine': engine,
                   'medianMs': round(median, 3), 'firstRunMs': round(first, 3), 'peakBytes': peak}
            print(json.dumps(row), flush=True)
            results.append(row)
    with open(a.out, 'w') as f:
        json.dump({'adapter': torch.cuda.get_device_name(0), 'results': results}, f, indent=1)


if __name__ == '__main__':
    main()
