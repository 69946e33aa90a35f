"""TF's own TF Lite interpreter on our exports, for test/model/tflite-export-tf.test.ts and the
figures in docs/models.md.

Usage: python tflite_run.py MODEL.tflite INPUT.npy OUT.npy [--threads N] [--no-xnnpack] [--time RUNS]
                            [MODEL INPUT OUT ...]
       python tflite_run.py --serve

INPUT.npy is the model's input as the file declares it (float32 NHWC, or uint8/int8 for an
--int8-io export); OUT.npy receives its one output as the interpreter gives it. Each model is run
by tf.lite.Interpreter (XNNPACK, TF's default, unless --no-xnnpack: the builtin kernels). With
--time RUNS, once every model has run, each is run RUNS more times, the models taking turns (so a
change in the machine's load falls on all alike), and each one's median time in milliseconds is
printed.
Prints one JSON line per model: its input and output tensors and TF's version.

--serve pays TF's import once for many runs (test/model/tflite-tf.ts): it prints {"ready": TF's
version} once TF is imported, then reads one JSON request a line from stdin, {"runs": [[MODEL,
INPUT, OUT], ...], "threads": N, "xnnpack": bool, "time": RUNS} (the options as above, all
optional), and answers each with one line, {"results": [one model's line, ...]} or {"error":
why} (the traceback on stderr), until stdin ends. Whatever TF prints goes to stderr.
"""

import json
import os
import sys
import time
import traceback

# TF first: where it cannot be imported, stderr's last line says so (--serve's caller skips, quoting it).
import tensorflow as tf
import numpy as np


def run(model: str, input_path: str, out_path: str, threads: int, xnnpack: bool) -> tuple:
    kind = tf.lite.experimental.OpResolverType.AUTO if xnnpack else tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = tf.lite.Interpreter(model_path=model, num_threads=threads, experimental_op_resolver_type=kind)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    x = np.load(input_path)
    if x.dtype != inp["dtype"]:
        raise SystemExit(f"{input_path} is {x.dtype}, the model's input is {inp['dtype']}")
    interp.set_tensor(inp["index"], x.reshape(inp["shape"]))
    interp.invoke()
    np.save(out_path, interp.get_tensor(out["index"]))
    result = {
        "tf": tf.__version__,
        "input": {"name": inp["name"], "shape": inp["shape"].tolist(), "dtype": str(np.dtype(inp["dtype"])), "quantization": list(inp["quantization"])},
        "output": {"name": out["name"], "shape": out["shape"].tolist(), "dtype": str(np.dtype(out["dtype"])), "quantization": list(out["quantization"])},
    }
    return interp, result


def run_all(triples: list, threads: int, xnnpack: bool, runs: int, answer) -> None:
    """Runs each (model, input, out) and hands `answer` each one's line, in order."""
    if not runs:
        # Nothing to time: each interpreter let go once its output is written.
        for triple in triples:
            answer(run(*triple, threads, xnnpack)[1])
        return
    done = [run(*triple, threads, xnnpack) for triple in triples]
    times = [[] for _ in done]
    for _ in range(runs):
        for (interp, _result), spent in zip(done, times):
            t0 = time.perf_counter()
            interp.invoke()
            spent.append((time.perf_counter() - t0) * 1000)
    for (_interp, result), spent in zip(done, times):
        result["median_ms"] = float(np.median(spent))
        answer(result)


def serve() -> None:
    # The answers keep stdout to themselves: anything else printed there (TF's own messages) goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def reply(message: dict) -> None:
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    reply({"ready": tf.__version__})
    for line in sys.stdin:
        if not line.strip():
            continue
        results = []
        try:
            request = json.loads(line)
            triples = [tuple(t) for t in request["runs"]]
            if not triples or any(len(t) != 3 for t in triples):
                raise ValueError(f"runs must be [model, input, out] triples, not {request['runs']}")
            run_all(triples, int(request.get("threads", 1)), bool(request.get("xnnpack", True)), int(request.get("time", 0)), results.append)
        except (Exception, SystemExit) as e:  # run() says a wrong input dtype by SystemExit
            traceback.print_exc()
            sys.stderr.flush()
            reply({"error": str(e) or type(e).__name__})
            continue
        reply({"results": results})


def main(args: list[str]) -> None:
    if args == ["--serve"]:
        return serve()
    threads, xnnpack, runs, rest = 1, True, 0, []
    i = 0
    while i < len(args):
        if args[i] == "--threads":
            threads, i = int(args[i + 1]), i + 2
        elif args[i] == "--time":
            runs, i = int(args[i + 1]), i + 2
        elif args[i] == "--no-xnnpack":
            xnnpack, i = False, i + 1
        else:
            rest.append(args[i])
            i += 1
    if not rest or len(rest) % 3 != 0:
        raise SystemExit(__doc__)
    triples = [tuple(rest[k : k + 3]) for k in range(0, len(rest), 3)]
    run_all(triples, threads, xnnpack, runs, lambda result: print(json.dumps(result), flush=True))


if __name__ == "__main__":
    main(sys.argv[1:])
