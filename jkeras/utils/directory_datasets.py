"""`image_dataset_from_directory`, `text_dataset_from_directory`, `audio_dataset_from_directory`
on numpy: a folder of class subfolders becomes a `DirectoryDataset`, a `jkeras.utils.Sequence` of
`(x, y)` batches that `fit` reads (tf.keras returns a `tf.data.Dataset`).

Files are listed, labelled and shuffled as tf.keras does it (sorted subfolders, `RandomState(seed)`
over the file list), so the same seed gives the same files in the same batches and the same
training/validation split. Each file is read when its batch is asked for.
"""
import os
import wave

import numpy as np

from jkeras.utils.image_utils import img_to_array, load_img, resize_images, smart_resize
from jkeras.utils.logging_utils import print_msg
from jkeras.utils.sequence import Sequence

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


class DirectoryDataset(Sequence):
    """Batches of files read by `read(path)` with their labels; `class_names` as tf.keras sets it.

    `file_paths` and `labels` are the listed files in batch order. With `shuffle=True` the
    order is drawn again after each epoch (`on_epoch_end`) from the seed.
    """

    def __init__(self, file_paths, labels, label_mode, class_names, batch_size, read, shuffle, seed,
                 pad=False):
        self.file_paths = list(file_paths)
        self.labels = None if labels is None else np.asarray(labels)
        self.label_mode, self.class_names = label_mode, list(class_names)
        self.batch_size = len(self.file_paths) if batch_size is None else int(batch_size)
        self._read, self._pad = read, pad
        self._shuffle, self._rng = shuffle, np.random.RandomState(seed)
        self._order = np.arange(len(self.file_paths))

    def __len__(self):
        return -(-len(self.file_paths) // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"Batch {index} out of range for {len(self)} batches.")
        rows = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        items = [self._read(self.file_paths[i]) for i in rows]
        x = _pad_stack(items) if self._pad else (
            np.array(items) if isinstance(items[0], str) else np.stack(items))
        if self.label_mode is None:
            return x
        return x, _encode_labels(self.labels[rows], self.label_mode, len(self.class_names))

    def on_epoch_end(self):
        if self._shuffle:
            self._rng.shuffle(self._order)


def _pad_stack(items):
    """Audio clips `(samples, channels)` zero-padded to the longest in the batch."""
    longest = max(len(a) for a in items)
    return np.stack([np.pad(a, ((0, longest - len(a)), (0, 0))) for a in items])


def _encode_labels(labels, label_mode, num_classes):
    if label_mode == "binary":
        return labels.astype("float32")[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[labels]
    return labels.astype("int32")


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None,
                    follow_links=False):
    """`(file_paths, labels, class_names)` of the files with `formats` under `directory`.

    `labels='inferred'`: one class per (sorted, non-hidden) subfolder; a list: one label per
    file in sorted order; None: no labels. Shuffled with `RandomState(seed)` as tf.keras does.
    """
    if not os.path.isdir(directory):
        raise ValueError(f"Directory {directory!r} does not exist or is not a folder.")
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory)
                         if os.path.isdir(os.path.join(directory, d)) and not d.startswith("."))
        if class_names and set(class_names) != set(subdirs):
            raise ValueError("The `class_names` passed did not match the names of the "
                             f"subdirectories of the target directory. Expected: {subdirs}, but "
                             f"received: {list(class_names)}")
        class_names = list(class_names) if class_names else subdirs
    else:
        subdirs, class_names = [""], [""]
    index = {name: i for i, name in enumerate(class_names)}
    paths, found = [], []
    for subdir in subdirs:
        folder = os.path.join(directory, subdir)
        for root, _, files in sorted(os.walk(folder, followlinks=follow_links), key=lambda w: w[0]):
            for name in sorted(files):
                if name.lower().endswith(formats):
                    paths.append(os.path.join(root, name))
                    found.append(index[subdir])
    if labels not in ("inferred", None):
        if len(labels) != len(paths):
            raise ValueError(f"Expected the lengths of `labels` to match the number of files in the "
                             f"target directory. len(labels) is {len(labels)} while we found "
                             f"{len(paths)} files in directory {directory}.")
        class_names = sorted(set(labels))
        found = np.asarray(labels)
    else:
        found = np.asarray(found, dtype="int32")
    if labels is None:
        print_msg(f"Found {len(paths)} files.")
    else:
        print_msg(f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    if shuffle:
        seed = np.random.randint(10 ** 6) if seed is None else seed
        np.random.RandomState(seed).shuffle(paths)
        np.random.RandomState(seed).shuffle(found)
    return paths, (None if labels is None else found), class_names


def _check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed):
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError("`labels` argument should be a list/tuple of integer labels, of the same "
                         "size as the number of files in the target directory, 'inferred' or "
                         f"None. Received: labels={labels!r}")
    if labels not in ("inferred", None) and class_names:
        raise ValueError("You can only pass `class_names` if `labels='inferred'`.")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or '
                         f"None. Received: label_mode={label_mode!r}")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if bool(validation_split) != bool(subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError('`subset` must be either "training", "validation" or "both", received: '
                         f"{subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a "
                         "`seed` argument, to make sure that there is no overlap between the "
                         "training and validation subset.")


def _from_directory(directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                    validation_split, subset, follow_links, formats, read, what, pad=False):
    _check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed)
    if labels is None or label_mode is None:
        labels = label_mode = None
    seed = np.random.randint(10 ** 6) if seed is None else seed
    paths, found, class_names = index_directory(directory, labels, formats, class_names, shuffle,
                                                seed, follow_links)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")

    def make(which):
        part_paths, part_labels = paths, found
        if validation_split:
            n_val = int(validation_split * len(paths))
            if which == "training":
                print_msg(f"Using {len(paths) - n_val} files for training.")
                part_paths, part_labels = paths[:len(paths) - n_val], _cut(found, slice(0, len(paths) - n_val))
            else:
                print_msg(f"Using {n_val} files for validation.")
                part_paths, part_labels = paths[len(paths) - n_val:], _cut(found, slice(len(paths) - n_val, None))
        if not part_paths:
            raise ValueError(f"No {what} files found in directory {directory}. Allowed formats: "
                             f"{formats}")
        return DirectoryDataset(part_paths, part_labels, label_mode, class_names, batch_size, read,
                                shuffle and which != "validation", seed, pad)

    if subset == "both":
        return [make("training"), make("validation")]
    return make(subset)


def _cut(labels, rows):
    return None if labels is None else labels[rows]


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True,
                                 seed=None, validation_split=None, subset=None,
                                 interpolation="bilinear", follow_links=False,
                                 crop_to_aspect_ratio=False, **kwargs):
    """Images in class subfolders as batches `(n, height, width, channels)` float32 (0..255).

    Every image is resized to `image_size` (`interpolation` 'bilinear' or 'nearest', as
    tf.image.resize); `crop_to_aspect_ratio` crops the centre first, as `smart_resize`.
    Returns a `DirectoryDataset` (a `Sequence`), or a list of two with `subset='both'`.
    """
    if kwargs:
        raise TypeError(f"Unknown keywords argument(s): {tuple(kwargs)}")
    channels = {"rgb": 3, "rgba": 4, "grayscale": 1}.get(color_mode)
    if channels is None:
        raise ValueError('`color_mode` must be one of {"rgb", "rgba", "grayscale"}. Received: '
                         f"color_mode={color_mode!r}")
    resize_images(np.zeros((1, 1, 1)), (1, 1), interpolation)  # an unknown method fails now
    size = tuple(int(s) for s in image_size)

    def read(path):
        x = img_to_array(load_img(path, color_mode=color_mode), "channels_last", "float32")
        return (smart_resize(x, size, interpolation) if crop_to_aspect_ratio
                else resize_images(x, size, interpolation))

    return _from_directory(directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                           validation_split, subset, follow_links, IMAGE_FORMATS, read, "image")


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                batch_size=32, max_length=None, shuffle=True, seed=None,
                                validation_split=None, subset=None, follow_links=False):
    """`.txt` files in class subfolders as batches of strings (a numpy array of `str`), with labels.

    `max_length` keeps the first `max_length` bytes of each file, as tf.keras does.
    Returns a `DirectoryDataset` (a `Sequence`), or a list of two with `subset='both'`.
    """
    def read(path):
        with open(path, "rb") as f:
            data = f.read()
        return (data if max_length is None else data[:max_length]).decode("utf-8", errors="replace")

    return _from_directory(directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                           validation_split, subset, follow_links, (".txt",), read, "text")


def read_wav(path, output_sequence_length=None):
    """A 16-bit PCM `.wav` file as float32 `(samples, channels)` in [-1, 1), as tf.audio.decode_wav."""
    with wave.open(os.fspath(path), "rb") as f:
        if f.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV files can be read (this one has "
                             f"{8 * f.getsampwidth()}-bit samples).")
        frames = np.frombuffer(f.readframes(f.getnframes()), "<i2").reshape(-1, f.getnchannels())
    audio = frames.astype("float32") / 32768.0
    if output_sequence_length is not None:
        audio = audio[:output_sequence_length]
        audio = np.pad(audio, ((0, output_sequence_length - len(audio)), (0, 0)))
    return audio


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 batch_size=32, sampling_rate=None, output_sequence_length=None,
                                 ragged=False, shuffle=True, seed=None, validation_split=None,
                                 subset=None, follow_links=False):
    """16-bit PCM `.wav` files in class subfolders as batches `(n, samples, channels)` float32.

    Clips are cut or zero-padded to `output_sequence_length`, else padded to the longest clip of
    their batch, as tf.keras does. Resampling (`sampling_rate`) needed tensorflow-io in tf.keras
    and is not offered; neither are ragged batches.
    """
    if sampling_rate is not None:
        raise ValueError("audio_dataset_from_directory cannot resample (`sampling_rate`): tf.keras "
                         "did it with tensorflow-io. Resample the files beforehand, or pass "
                         "sampling_rate=None to read them at their own rate.")
    if ragged:
        raise ValueError("ragged=True makes TensorFlow ragged tensors; jkeras pads each batch to "
                         "its longest clip instead (ragged=False) or to output_sequence_length.")
    return _from_directory(directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                           validation_split, subset, follow_links, (".wav",),
                           lambda path: read_wav(path, output_sequence_length), "audio",
                           pad=output_sequence_length is None)
