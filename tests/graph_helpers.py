"""CUDA-graph capture shared by the GPU tests."""

import torch


def capture(fn):
    """Capture ``fn()`` in a CUDA graph on a side stream that first waits for the current stream's work; the current
    stream waits for the capture. Returns ``(graph, fn's result)`` (the result's tensors are the graph's outputs)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.stream(side), torch.cuda.graph(graph):
        result = fn()
    torch.cuda.current_stream().wait_stream(side)
    return graph, result
