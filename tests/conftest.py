import os
import zlib

import pytest
import torch


def hopper_available() -> bool:
    return torch.cuda.is_available() and torch.cuda.get_device_capability() == (9, 0)


def dsl_available() -> bool:
    from cute_attn.artifacts import dsl_available as avail

    return avail()


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs a Hopper (sm_90) GPU")
    skip_dsl = pytest.mark.skip(reason="needs nvidia-cutlass-dsl (pip install 'nvidia-cutlass-dsl[cu13]==4.8.1')")
    gpu, dsl = hopper_available(), dsl_available()
    for item in items:
        if "gpu" in item.keywords and not gpu:
            item.add_marker(skip_gpu)
        if "compile" in item.keywords and not dsl:
            item.add_marker(skip_dsl)


@pytest.fixture
def rng():
    """A fresh generator per test, seeded from the test's name, so reruns are reproducible."""
    name = os.environ.get("PYTEST_CURRENT_TEST", "").encode()
    seed = int(os.environ.get("CUTE_ATTN_TEST_SEED", "0")) + zlib.crc32(name)
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="session")
def prefill_plan_lib(tmp_path_factory):
    """The compiled prefill planner (``cute_attn/csrc/prefill_plan.cpp``), built once per session from the package
    source into a fresh directory (needs g++)."""
    import importlib
    import shutil

    from cute_attn import hostlib

    if shutil.which("g++") is None:
        pytest.skip("no g++: the compiled planner cannot be built here")
    prefill = importlib.import_module("cute_attn.prefill")  # the package's ``prefill`` attribute is the function
    lib = prefill.compiled_schedule(hostlib.build("prefill_plan", str(tmp_path_factory.mktemp("hostlib"))))
    assert lib is not None
    return lib
