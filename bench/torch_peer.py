"""PyTorch's DeepLabv3-ResNet-50 (torchvision, random weights) as the native peer of the model
benchmark on a CUDA GPU. Timing matches bench/model.ts: wall time from the normalised input in
host memory to the logits in host memory (the GPU synchronised before and after each run), the
first run apart, then warm-up runs until the times settle (bench/settle.py, the rule of
bench/settle.ts), then the median and quartiles of the timed runs.

    python3 bench/torch_peer.py [--size 513] [--batches 1,8] [--strides 16,8] [--precisions f32,f16] [--repeats 20] [--warmup 3] [--warmup-budget 10] [--out FILE]

f32 is plain float32 with TF32 off (as our engine computes); f16 runs under torch.autocast in
float16 (PyTorch's own mixed precision on tensor cores): the figure to set beside our half
precision on subgroup matrices. --autocast is --precisions f16.

    python3 bench/torch_peer.py --train [--model resnet50-os16] [--batch 2] [--crop 129] [--repeats 3] [--warmup 1] [--warmup-budget 10] [--out FILE]

times one training step (forward, cross-entropy with ignore index 255, backward, SGD with momentum
0.9 and weight decay 1e-4; batch norms on batch statistics, dropout off as in our bench) from the
batch in host memory to the loss in host memory, on CUDA where there is one, else on the CPU: the
engine a user would pick instead of ours. bench part `train` runs it where torch is importable.

    python3 bench/torch_peer.py --serve-train --threads N [--model resnet50-os16] [--batch 2] [--crop 129]

the same step on the CPU with N threads, one step per line read from stdin, each answered with a
JSON line of its wall and CPU time and the process's peak resident memory: bench part `train`
alternates it step by step with ours on the CPU (bench/cpu-train.ts), so both see the host alike.
"""
import contextlib
import argparse
import json
import sys
import time

import torch
import torchvision

from settle import summary, warm_up
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


def settle_options(a):
    return {'min_rounds': a.warmup, 'min_s': 1.0, 'max_rounds': 1000, 'budget_s': a.warmup_budget}


def time_model(model, batch, size, repeats, settle, autocast):
    """The first run, the warm-up and the timed runs' summary, host input to host logits."""
    x_host = torch.randn(batch, 3, size, size).pin_memory()
    shapes = []

    def once():
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = model(x_host.to('cuda', non_blocking=True))['out'].cpu()
        torch.cuda.synchronize()
        shapes.append(tuple(out.shape))
        return (time.perf_counter() - t0) * 1000

    mixed = torch.autocast('cuda', dtype=torch.float16) if autocast else contextlib.nullcontext()
    with torch.inference_mode(), mixed:
        first = once()
        rounds, settled = warm_up(once, **settle)
        samples = [once() for _ in range(repeats)]
    assert shapes[-1] == (batch, 21, size, size), shapes[-1]
    return {**summary(samples, rounds, settled), 'firstRunMs': round(first, 3)}


def time_train_step(model, batch, crop, repeats, settle, device):
    """The first step, the warm-up and the timed steps' summary, host batch to host loss; the model trains in place."""
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
    losses = []

    def once():
        if device == 'cuda':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        x = x_host.to(device, non_blocking=True)
        y = y_host.to(device, non_blocking=True)
        loss = torch.nn.functional.cross_entropy(model(x)['out'], y, ignore_index=255)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())  # waits for the step
        if device == 'cuda':
            torch.cuda.synchronize()
        return (time.perf_counter() - t0) * 1000

    first = once()
    rounds, settled = warm_up(once, **settle)
    samples = [once() for _ in range(repeats)]
    assert losses[-1] == losses[-1], 'the loss is NaN'
    return {**summary(samples, rounds, settled), 'firstRunMs': round(first, 3)}


def serve_train(a):
    """Steps on demand: a line in, one step, a JSON line out ({wallMs, cpuMs, loss, peakRssBytes})."""
    import resource

    def rss():
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    base = rss()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = resnet50_deeplab(int(a.model.removeprefix('resnet50-os')))
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Dropout):
                setattr(module, child_name, torch.nn.Identity())
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(a.batch, 3, a.crop, a.crop)
    y = torch.randint(0, 21, (a.batch, a.crop, a.crop))
    print(json.dumps({'ready': True, 'engine': f'pytorch {torch.__version__} cpu', 'threads': torch.get_num_threads()}), flush=True)
    for _ in sys.stdin:
        t0, c0 = time.perf_counter(), time.process_time()
        loss = torch.nn.functional.cross_entropy(model(x)['out'], y, ignore_index=255)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = loss.item()
        wall, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
        # The peak resident set over what the process held before its model was made.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
        print(json.dumps({'wallMs': wall, 'cpuMs': cpu, 'loss': value, 'peakRssBytes': peak}), flush=True)


def train_main(a):
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    stride = int(a.model.removeprefix('resnet50-os'))
    torch.manual_seed(0)
    model = resnet50_deeplab(stride)
    timing = time_train_step(model, a.batch, a.crop, a.repeats, settle_options(a), device)
    where = torch.cuda.get_device_name(0) if device == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    row = {'model': a.model, 'batch': a.batch, 'crop': a.crop, 'engine': f'pytorch {torch.__version__} {device}', 'device': where,
           'tf32': False, **timing}
    print(json.dumps(row), flush=True)
    with open(a.out, 'w') as f:
        json.dump({'adapter': where, 'results': [row]}, f, indent=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--size', type=int, default=513)
    p.add_argument('--batches', default='1,8')
    p.add_argument('--strides', default='16,8')
    p.add_argument('--repeats', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3, help='least warm-up runs (more until the times settle)')
    p.add_argument('--warmup-budget', type=float, default=10.0, help='most seconds of warm-up runs per case')
    p.add_argument('--precisions', default='f32', help='f32 (float32, TF32 off) and/or f16 (float16 autocast)')
    p.add_argument('--autocast', action='store_true', help='the same as --precisions f16')
    p.add_argument('--out', default='bench/results/torch-peer.json')
    p.add_argument('--train', action='store_true', help='time a training step instead of the forward pass')
    p.add_argument('--model', default='resnet50-os16', choices=['resnet50-os16', 'resnet50-os8'], help='--train: the network')
    p.add_argument('--batch', type=int, default=2, help='--train: images per step')
    p.add_argument('--crop', type=int, default=129, help='--train: square crop')
    p.add_argument('--serve-train', action='store_true', help='steps on the CPU on demand, one per stdin line')
    p.add_argument('--threads', type=int, default=0, help='--serve-train: torch.set_num_threads')
    a = p.parse_args()
    if a.serve_train:
        return serve_train(a)
    if a.train:
        return train_main(a)
    precisions = ['f16'] if a.autocast else a.precisions.split(',')
    unknown = [x for x in precisions if x not in ('f32', 'f16')]
    if unknown:
        p.error(f'unknown precision(s) {", ".join(unknown)}; choose from f32, f16')
    # Plain float32, as our engine computes: no TF32 tensor-core shortcuts.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    results = []
    for stride in [int(s) for s in a.strides.split(',')]:
        torch.manual_seed(0)
        model = resnet50_deeplab(stride).cuda().eval()
        for batch in [int(b) for b in a.batches.split(',')]:
            for precision in precisions:
                autocast = precision == 'f16'
                timing = time_model(model, batch, a.size, a.repeats, settle_options(a), autocast)
                peak = torch.cuda.max_memory_allocated()
                torch.cuda.reset_peak_memory_stats()
                engine = f'pytorch {torch.__version__} cuda' + (' fp16 autocast' if autocast else '')
                row = {'model': f'resnet50-os{stride}-{a.size}', 'batch': batch, 'engine': engine, 'precision': precision,
                       'tf32': False, **timing, 'peakBytes': peak}
                print(json.dumps(row), flush=True)
                results.append(row)
    with open(a.out, 'w') as f:
        json.dump({'adapter': torch.cuda.get_device_name(0), 'results': results}, f, indent=1)


if __name__ == '__main__':
    main()
