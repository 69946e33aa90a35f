"""PyTorch's DeepLabv3-ResNet-50 (torchvision, random weights, float32) as the native peer of the
model benchmark on a CUDA GPU. Timing matches bench/model.ts: wall time from the normalised input
in host memory to the logits in host memory, median of the repeats after warm-up.

    python3 bench/torch_peer.py [--size 513] [--batches 1,8] [--repeats 20] [--autocast] [--out FILE]

With --autocast the forward runs under torch.autocast in float16 (PyTorch's own mixed
precision on tensor cores): the figure to set beside our half precision on subgroup matrices.

    python3 bench/torch_peer.py --train [--model resnet50-os16] [--batch 2] [--crop 129] [--repeats 3] [--out FILE]

times one training step (forward, cross-entropy with ignore index 255, backward, SGD with momentum
0.9 and weight decay 1e-4; batch norms on batch statistics, dropout off as in our bench) from the
batch in host memory to the loss in host memory, on CUDA where there is one, else on the CPU: the
engine a user would pick instead of ours. bench part `train` runs it where torch is importable.
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


def time_train_step(model, batch, crop, repeats, warmup, device):
    """Median and first step, host batch to host loss; the model trains in place."""
    # Our bench's step has no dropout (its masks cannot match between engines).
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Dropout):
                setattr(module, child_name, torch.nn.Identity())
    model.to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    x_host = torch.randn(batch, 3, crop, crop)
    y_host = torch.randint(0, 21, (batch, crop, crop))
    if device == 'cuda':
        x_host, y_host = x_host.pin_memory(), y_host.pin_memory()
    times = []
    first = None
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        x = x_host.to(device, non_blocking=True)
        y = y_host.to(device, non_blocking=True)
        loss = torch.nn.functional.cross_entropy(model(x)['out'], y, ignore_index=255)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = loss.item()  # waits for the step
        dt = (time.perf_counter() - t0) * 1000
        if first is None:
            first = dt
        if i >= warmup:
            times.append(dt)
    assert value == value, 'the loss is NaN'
    return statistics.median(times), first, times


def train_main(a):
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    stride = int(a.model.removeprefix('resnet50-os'))
    torch.manual_seed(0)
    model = resnet50_deeplab(stride)
    median, first, samples = time_train_step(model, a.batch, a.crop, a.repeats, a.warmup, device)
    where = torch.cuda.get_device_name(0) if device == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    row = {'model': a.model, 'batch': a.batch, 'crop': a.crop, 'engine': f'pytorch {torch.__version__} {device}', 'device': where,
           'medianMs': round(median, 3), 'firstRunMs': round(first, 3), 'samplesMs': [round(t, 3) for t in samples]}
    print(json.dumps(row), flush=True)
    with open(a.out, 'w') as f:
        json.dump({'adapter': where, 'results': [row]}, f, indent=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--size', type=int, default=513)
    p.add_argument('--batches', default='1,8')
    p.add_argument('--strides', default='16,8')
    p.add_argument('--repeats', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--autocast', action='store_true', help='float16 autocast instead of float32')
    p.add_argument('--out', default='bench/results/torch-peer.json')
    p.add_argument('--train', action='store_true', help='time a training step instead of the forward pass')
    p.add_argument('--model', default='resnet50-os16', choices=['resnet50-os16', 'resnet50-os8'], help='--train: the network')
    p.add_argument('--batch', type=int, default=2, help='--train: images per step')
    p.add_argument('--crop', type=int, default=129, help='--train: square crop')
    a = p.parse_args()
    if a.train:
        return train_main(a)
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
