"""Train a DeepLabv3 that deeplab-webgpu exported, with PyTorch DistributedDataParallel, and write
it back in the same layout for `deeplab` to load (docs/scale.md, "Training at scale").

    python docs/ddp_train.py --model EXPORT --data DIR --out OUT [--world-size 2] [--steps 20]

EXPORT is what `deeplab export` wrote: a Hugging Face hub folder (`--format hf`: config.json,
preprocessor_config.json, model.safetensors; needs `transformers`) or torchvision's state dict
(`FILE.safetensors`; needs `torchvision`). OUT is the same kind: a hub folder, or a .safetensors
file with the class names kept in its metadata.

DIR is an image/label folder data set as `deeplab train --data` reads it: images/train/*.jpg|png,
labels/train/*.png (8-bit class indices), classes.json ("names", optional "ignoreIndex").

One machine: `--world-size N` starts N processes (gloo on CPU, NCCL where each process has a GPU).
Several machines: start it with torchrun, which sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT:

    torchrun --nnodes 2 --nproc-per-node 4 --rdzv-endpoint HOST:29400 docs/ddp_train.py --model ... --out ...

Each process reads its own part of the training images (every world-size-th from its rank), so
each step sees world-size x --batch crops; DDP averages the gradients, so every process holds the
same weights after every step (checked at the end). Batch norm keeps per-process statistics
(SyncBatchNorm needs GPUs). Rank 0 writes OUT and OUT's log (ddp_log.json beside or inside it).
"""
import argparse
import json
import os
import random
import socket

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from PIL import Image
from torch.nn.parallel import DistributedDataParallel as DDP

IMAGE_EXTS = ('.jpg', '.jpeg', '.png')
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--model', required=True, help='hub folder or torchvision .safetensors from `deeplab export`')
    p.add_argument('--data', required=True, help='image/label folder data set')
    p.add_argument('--out', required=True, help='hub folder or .safetensors file to write (same kind as --model)')
    p.add_argument('--split', default='train')
    p.add_argument('--world-size', type=int, default=1, help='processes to start here (ignored under torchrun)')
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--batch', type=int, default=2, help='crops per process per step')
    p.add_argument('--crop', type=int, default=129)
    p.add_argument('--lr', type=float, default=0.01)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--arch', default='mobilenet_v3_large', help='torchvision: deeplabv3_<arch>')
    p.add_argument('--predict', help="after training, rank 0 segments this image and writes OUT's prediction.png")
    return p.parse_args()


class Layout:
    """How a model is read, fed, run and written: a hub folder, or torchvision's state dict."""

    def __init__(self, path, arch):
        self.hub = os.path.isdir(path)
        if self.hub:
            from transformers import AutoImageProcessor, AutoModelForSemanticSegmentation

            self.processor = AutoImageProcessor.from_pretrained(path)
            self.model = AutoModelForSemanticSegmentation.from_pretrained(path)
            self.num_classes = self.model.config.num_labels
            self.metadata = None
        else:
            from safetensors import safe_open
            from safetensors.torch import load_file
            from torchvision.models import segmentation

            state = load_file(path)
            with safe_open(path, 'pt') as f:
                self.metadata = f.metadata()
            self.num_classes = state['classifier.4.weight'].shape[0]
            build = getattr(segmentation, f'deeplabv3_{arch}')
            self.model = build(weights=None, weights_backbone=None, num_classes=self.num_classes, aux_loss=False)
            self.model.load_state_dict(state, strict=True)

    def pixels(self, crops):
        """uint8 HWC RGB crops -> the network's input, normalised as its inference normalises."""
        if self.hub:
            kw = dict(do_resize=False, do_center_crop=False, return_tensors='pt')
            return self.processor(images=list(crops), **kw)['pixel_values']
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255
        return (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    def logits(self, model, x):
        """Logits at the input's size."""
        out = model(pixel_values=x).logits if self.hub else model(x)['out']
        return F.interpolate(out, size=x.shape[-2:], mode='bilinear', align_corners=False)

    def save(self, model, out):
        if self.hub:
            model.save_pretrained(out, safe_serialization=True)
            self.processor.save_pretrained(out)
        else:
            from safetensors.torch import save_file

            state = {k: v.contiguous() for k, v in model.state_dict().items()}
            save_file(state, out, metadata=self.metadata)


def read_items(data, split):
    images = os.path.join(data, 'images', split)
    labels = os.path.join(data, 'labels', split)
    names = sorted(n for n in os.listdir(images) if n.lower().endswith(IMAGE_EXTS))
    items = [(os.path.join(images, n), os.path.join(labels, os.path.splitext(n)[0] + '.png')) for n in names]
    missing = [l for _, l in items if not os.path.exists(l)]
    if not items or missing:
        raise SystemExit(f'{data}: no {split} images, or labels missing: {missing[:3]}')
    return items


def random_crop(item, crop, rng, num_classes, ignore):
    image = np.asarray(Image.open(item[0]).convert('RGB'))
    label = np.asarray(Image.open(item[1]))
    if label.ndim != 2:
        raise SystemExit(f'{item[1]}: not a class-index PNG')
    h, w = label.shape
    y, x = rng.randrange(max(1, h - crop + 1)), rng.randrange(max(1, w - crop + 1))
    image = image[y:y + crop, x:x + crop]
    label = label[y:y + crop, x:x + crop].astype(np.int64)
    label[(label >= num_classes) | (label == ignore)] = 255
    if rng.random() < 0.5:
        image, label = image[:, ::-1], label[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(label)


def train(rank, world, a):
    backend = 'nccl' if torch.cuda.is_available() and torch.cuda.device_count() >= world else 'gloo'
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    dist.init_process_group(backend, rank=rank, world_size=world)
    device = torch.device(f'cuda:{rank % torch.cuda.device_count()}' if backend == 'nccl' else 'cpu')
    torch.manual_seed(a.seed)
    layout = Layout(a.model, a.arch)
    model = DDP(layout.model.to(device).train(), device_ids=[device.index] if backend == 'nccl' else None)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=1e-4)
    classes = json.load(open(os.path.join(a.data, 'classes.json')))
    ignore = classes.get('ignoreIndex', 255)
    mine = read_items(a.data, a.split)[rank::world]
    rng = random.Random(a.seed * 1000 + rank)
    losses = []
    for step in range(a.steps):
        batch = [random_crop(rng.choice(mine), a.crop, rng, layout.num_classes, ignore) for _ in range(a.batch)]
        x = layout.pixels([b[0] for b in batch]).to(device)
        y = torch.from_numpy(np.stack([b[1] for b in batch])).to(device)
        for g in opt.param_groups:
            g['lr'] = a.lr * (1 - step / a.steps) ** 0.9  # the paper's poly schedule
        loss = F.cross_entropy(layout.logits(model, x), y, ignore_index=255)
        opt.zero_grad()
        loss.backward()
        opt.step()
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        losses.append(mean.item() / world)
        if rank == 0:
            print(f'step {step + 1}/{a.steps}  loss {losses[-1]:.4f}  ({world} processes x {a.batch} crops)', flush=True)
    # DDP keeps the replicas equal: every process's weights are rank 0's.
    total = torch.stack([p.detach().double().sum() for p in model.module.parameters()]).sum().reshape(1)
    sums = [torch.zeros_like(total) for _ in range(world)]
    dist.all_gather(sums, total)
    if rank == 0:
        module = model.module.cpu().eval()
        layout.save(module, a.out)
        log = {'worldSize': world, 'backend': backend, 'steps': a.steps, 'batchPerProcess': a.batch, 'crop': a.crop,
               'losses': losses, 'parameterSums': [s.item() for s in sums], 'torch': torch.__version__}
        folder = a.out if layout.hub else os.path.dirname(os.path.abspath(a.out))
        if a.predict:
            log['prediction'] = predict(layout, module, a.predict, folder)
        with open(os.path.join(folder, 'ddp_log.json'), 'w') as f:
            json.dump(log, f, indent=1)
    dist.barrier()
    dist.destroy_process_group()


@torch.no_grad()
def predict(layout, model, image_path, folder):
    """Class indices at the image's size, as the layout's own inference pipeline gives them."""
    image = Image.open(image_path).convert('RGB')
    if layout.hub:
        # What the processor's post_process_semantic_segmentation does, keeping the logits.
        out = model(**layout.processor(images=image, return_tensors='pt')).logits
        logits = F.interpolate(out, size=(image.height, image.width), mode='bilinear', align_corners=False)[0]
    else:
        logits = layout.logits(model, layout.pixels([np.asarray(image)]))[0]
    path = os.path.join(folder, 'prediction.png')
    Image.fromarray(logits.argmax(0).numpy().astype(np.uint8)).save(path)
    # [height, width, classes] float32, little-endian: the layout of deeplab's `include: ['logits']`.
    logits.permute(1, 2, 0).contiguous().numpy().astype('<f4').tofile(os.path.join(folder, 'prediction_logits.f32'))
    return path


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def main():
    a = parse_args()
    if 'RANK' in os.environ:  # started by torchrun
        train(int(os.environ['RANK']), int(os.environ['WORLD_SIZE']), a)
        return
    os.environ['MASTER_ADDR'] = '127.0.0.1'
    os.environ['MASTER_PORT'] = str(free_port())
    if a.world_size == 1:
        train(0, 1, a)
    else:
        torch.multiprocessing.spawn(train, args=(a.world_size, a), nprocs=a.world_size, join=True)


if __name__ == '__main__':
    main()
