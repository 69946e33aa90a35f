# Sourced at the start of every command on the device machine (see bench/README.md, "On a GPU host
# without Node"). That machine has CUDA and PyTorch but no Node and no Vulkan loader, and only this
# checkout travels there: the runtime, the npm packages and the shared data come in the
# git-ignored .device-carry/ folder, which scripts/device/pack.sh makes. Unpacks them once per
# machine and sets the environment. DEVICE_RT (default /opt/rt: where Node goes) and DEVICE_SYSROOT
# (default /: where the .debs go, ldconfig only there) let pack.sh's self-check run this script on
# the packing machine, in a temporary folder.
set -e
cd "$(git rev-parse --show-toplevel 2>/dev/null || pwd)"
carry=.device-carry
rt=${DEVICE_RT:-/opt/rt}
sysroot=${DEVICE_SYSROOT:-/}
if [ ! -x "$rt/node" ] && [ -f $carry/rt/node.xz ]; then
  mkdir -p "$rt"
  python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" $carry/rt/node.xz "$rt/node"
  chmod +x "$rt/node"
fi
if [ ! -d node_modules/webgpu ] && [ -f $carry/rt/nm.tar.xz ]; then
  python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall('.')" $carry/rt/nm.tar.xz
fi
# Packages carried apart from nm.tar.xz (which leaves them out, or holds a stub in their place),
# in later calls than the runtime: each .device-carry/nm-*/*.tar.xz holds package folders of
# node_modules, each replacing the package of that name there, once per machine: sharp's @img
# (nm-img/img.tar.xz: the runner reads its image through sharp), onnxruntime-node's Linux x64
# package (nm-ort/ort-node.tar.xz, 12 MB: part ort-node's WebGPU provider).
for t in $carry/nm-*/*.tar.xz; do
  [ -f "$t" ] && [ ! -e "node_modules/.carried-$(basename "$t")" ] || continue
  python3 - "$t" <<'EOF'
import shutil, sys, tarfile
t = tarfile.open(sys.argv[1])
# 'sharp/...' replaces node_modules/sharp; '@img/colour/...' replaces node_modules/@img/colour.
packages = {'/'.join(n.split('/')[:2 if n.startswith('@') else 1]) for n in t.getnames()}
for p in packages:
    if not p.startswith('@') or '/' in p:
        shutil.rmtree('node_modules/' + p, ignore_errors=True)
t.extractall('node_modules')
EOF
  touch "node_modules/.carried-$(basename "$t")"
done
# The built files without their source maps (dist/ whole, maps and all, is 34 MB); unpacked
# again on every call, so a warm machine runs the build that travelled.
if [ -f $carry/rt/dist.tar.xz ]; then
  python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall('.')" $carry/rt/dist.tar.xz
fi
# The Vulkan loader (NVIDIA's driver provides the ICD).
# NVIDIA's Vulkan ICD is libGLX_nvidia, which needs glvnd's dispatch library and libX11.
for f in .gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" "$sysroot"; done
[ "$sysroot" != / ] || ldconfig
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
# ../shared beside the checkout, as on a development machine.
mkdir -p ../shared/data
# The tests and benchmarks know the shared folder by its README (test/shared.ts).
[ -e ../shared/README.md ] || echo 'Carried copies of the shared folder (scripts/device/env.sh).' > ../shared/README.md
for d in weights fixtures; do [ -e $carry/$d ] && ln -sfn "$PWD/$carry/$d" ../shared/$d; done
for d in voc-sample camvid; do [ -e $carry/$d ] && ln -sfn "$PWD/$carry/$d" ../shared/data/$d; done
export PATH=$rt:$PATH
set +e
