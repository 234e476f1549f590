"""A tqdm progress callback for the ML steps (step, done, total)."""

from contextlib import contextmanager


@contextmanager
def tqdm_progress(*, desc: str, stream, disable: bool = False):
    from tqdm import tqdm

    bars: dict[str, object] = {}

    def progress(step: str, done: int, total: int) -> None:
        bar = bars.get(step)
        if bar is None:
            bar = bars[step] = tqdm(
                total=total, desc=f"{desc}: {step}", file=stream, disable=disable, leave=False
            )
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()
