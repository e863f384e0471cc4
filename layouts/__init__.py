"""CuTe layout constructors: how logical attention tiles map to memory (dense, paged, gathered,
GQA-packed). Installed as ``cute_attn.layouts``. Modules here import the DSL lazily, so that importing
``cute_attn`` works without it."""
