# deeplab-webgpu as a container for batch segmentation (docs/scale.md): Node 20, the package and
# its Node peers (onnxruntime-node among them: on CPU nodes `segment --device cpu` is the fast
# path), and Mesa's Vulkan driver (lavapipe) so WebGPU runs on nodes without a GPU too. On GPU
# nodes the NVIDIA container toolkit mounts NVIDIA's Vulkan driver (NVIDIA_DRIVER_CAPABILITIES
# must include "graphics") and Dawn picks it over lavapipe.
#
#   docker build -t deeplab-webgpu .
#   docker run --rm -v $PWD/photos:/data -v $PWD/masks:/out -v deeplab-cache:/cache deeplab-webgpu \
#     segment /data --out /out --summary /out/summary.jsonl [--device cpu]
#
# The build steps are scripts/container-build.sh, which runs (and is tested) without Docker.
FROM node:20-bookworm-slim
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
    DEEPLAB_CACHE_DIR=/cache \
    npm_config_update_notifier=false
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN bash scripts/container-build.sh /opt/deeplab \
 && rm -rf /src /root/.npm /var/lib/apt/lists/*
WORKDIR /work
ENTRYPOINT ["/opt/deeplab/bin/deeplab"]
