"""Page-table helpers shared by the tests."""

import torch


def random_page_table(gen, kv_lens, page_size, spare=5):
    """A CSR page table over shuffled page ids, with ``spare`` pages that no request owns.

    Returns ``(num_pages, kv_indptr, kv_indices, kv_last_page_len)``, int32 CPU tensors."""
    pages_per = [(n + page_size - 1) // page_size for n in kv_lens]
    num_pages = sum(pages_per) + spare
    indices = torch.randperm(num_pages, generator=gen)[: sum(pages_per)].to(torch.int32)
    indptr = torch.tensor([0] + torch.tensor(pages_per).cumsum(0).tolist(), dtype=torch.int32)
    last = torch.tensor([(n - 1) % page_size + 1 if n else 0 for n in kv_lens], dtype=torch.int32)
    return num_pages, indptr, indices, last
