"""`Sequence`: Keras's indexable batch dataset, safe to read from several workers."""


class Sequence:
    """Base class for data read batch by batch: implement `__len__` and `__getitem__`.

    `__getitem__(i)` returns batch `i` as `x`, `(x, y)` or `(x, y, sample_weight)`;
    `on_epoch_end` runs after each epoch (e.g. to reshuffle files).
    """

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def on_epoch_end(self):
        """Called at the end of every epoch."""

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]
