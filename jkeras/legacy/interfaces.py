"""Keras 1 arguments, converted to Keras 2's with Keras 2's own warning (`keras.legacy.interfaces`).

Each `legacy_*_support` decorates an `__init__` (or a model method): the old
keyword names are renamed (`border_mode` -> `padding`, `init` ->
`kernel_initializer`, ...), old values mapped (`dim_ordering="th"` ->
`data_format="channels_first"`), a preprocessor folds old positional forms
(`Convolution2D(32, 3, 3)` -> `Conv2D(32, (3, 3))`), and when anything changed
a `UserWarning` says "Update your `Conv2D` call to the Keras 2 API: ...".
Custom layers that used these decorators in Keras 2 use them unchanged. A
decorator may also decorate a class (`@legacy_conv2d_support class Conv2D(_Conv)`):
the `__init__` it has, its own or inherited, is converted for that class alone.

Unlike Keras 2, extra positional arguments are not refused here: tf.keras 2
accepts `Dense(10, "relu")`, and the function's own signature still checks
them. `Conv2D(32, 3, 2)` is Keras 1's 3x2 kernel, as in Keras 2; with a Keras 2
keyword (`Conv2D(32, 3, 2, padding="same")`, which Keras 2 refused) it is
tf.keras 2's kernel 3, strides 2. This module imports only the standard library
and numpy (floor 2), so layers may import it.
"""
import functools
import warnings

import numpy as np

_DIM_ORDERING = {"dim_ordering": {"tf": "channels_last", "th": "channels_first", "default": None}}
_WEIGHT_ARGS = [("init", "kernel_initializer"), ("W_regularizer", "kernel_regularizer"),
                ("b_regularizer", "bias_regularizer"), ("W_constraint", "kernel_constraint"),
                ("b_constraint", "bias_constraint"), ("bias", "use_bias")]
_CONV_ARGS = [("nb_filter", "filters"), ("subsample", "strides"), ("border_mode", "padding"),
              ("dim_ordering", "data_format")]


def _shown(value):
    """A value as Keras 2's warning shows it: strings quoted, arrays as `array`, the rest cut at 10."""
    if isinstance(value, str):
        return '"' + value + '"'
    text = "array" if isinstance(value, np.ndarray) else str(value)
    return text[:10] + "..." if len(text) > 10 else text


def _call_text(name, args, kwargs):
    parts = [_shown(v) for v in args] + [f"{k}={_shown(v)}" for k, v in kwargs.items()]
    return f"`{name}({', '.join(parts)})`"


def raise_duplicate_arg_error(old_arg, new_arg):
    raise TypeError(f"For the `{new_arg}` argument, the layer received both the legacy keyword argument "
                    f"`{old_arg}` and the Keras 2 keyword argument `{new_arg}`. Stick to the latter!")


def generate_legacy_interface(allowed_positional_args=None, conversions=None, preprocessor=None,
                              value_conversions=None, object_type="class"):
    """A decorator converting Keras 1 keyword arguments (`conversions`: `(old, new)` pairs) and
    values (`value_conversions`: `{arg: {old: new}}`), after an optional `preprocessor(args,
    kwargs) -> (args, kwargs, converted)`. `allowed_positional_args` is accepted for Keras 2's
    signature (see the module docstring)."""
    conversions = list(conversions or [])
    value_conversions = dict(value_conversions or {})

    def legacy_support(func):
        if isinstance(func, type):  # a class: its own or inherited `__init__`, converted for it alone
            func.__init__ = legacy_support(func.__init__)
            return func

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            name = type(args[0]).__name__ if object_type == "class" else func.__name__
            converted = []
            if preprocessor is not None:
                args, kwargs, converted = preprocessor(args, kwargs)
                converted = list(converted)
            for key, table in value_conversions.items():
                value = kwargs.get(key)
                if key in kwargs and isinstance(value, (str, int, type(None))) and value in table:
                    kwargs[key] = table[value]
            for old, new in conversions:
                if old in kwargs:
                    value = kwargs.pop(old)
                    if new in kwargs:
                        raise_duplicate_arg_error(old, new)
                    kwargs[new] = value
                    converted.append((new, old))
            if converted:
                warnings.warn(f"Update your `{name}` call to the Keras 2 API: "
                              f"{_call_text(name, args[1:], kwargs)}", stacklevel=2)
            return func(*args, **kwargs)

        wrapper._original_function = func
        return wrapper

    return legacy_support


generate_legacy_method_interface = functools.partial(generate_legacy_interface, object_type="method")


# ---- layers ----
legacy_dense_support = generate_legacy_interface(
    allowed_positional_args=["units"], conversions=[("output_dim", "units")] + _WEIGHT_ARGS)

legacy_dropout_support = generate_legacy_interface(
    allowed_positional_args=["rate", "noise_shape", "seed"], conversions=[("p", "rate")])


def embedding_kwargs_preprocessor(args, kwargs):
    if "dropout" in kwargs:
        kwargs.pop("dropout")
        warnings.warn("The `dropout` argument is no longer support in `Embedding`. You can apply a "
                      "`keras.layers.SpatialDropout1D` layer right after the `Embedding` layer to get "
                      "the same behavior.", stacklevel=3)
    return args, kwargs, []


legacy_embedding_support = generate_legacy_interface(
    allowed_positional_args=["input_dim", "output_dim"],
    conversions=[("init", "embeddings_initializer"), ("W_regularizer", "embeddings_regularizer"),
                 ("W_constraint", "embeddings_constraint")],
    preprocessor=embedding_kwargs_preprocessor)

legacy_pooling1d_support = generate_legacy_interface(
    allowed_positional_args=["pool_size", "strides", "padding"],
    conversions=[("pool_length", "pool_size"), ("stride", "strides"), ("border_mode", "padding")])

legacy_prelu_support = generate_legacy_interface(
    allowed_positional_args=["alpha_initializer"], conversions=[("init", "alpha_initializer")])

legacy_gaussiannoise_support = generate_legacy_interface(
    allowed_positional_args=["stddev"], conversions=[("sigma", "stddev")])

legacy_gaussiandropout_support = generate_legacy_interface(
    allowed_positional_args=["rate"], conversions=[("p", "rate")])


def _forget_bias(kwargs, converted):
    """Keras 1's `forget_bias_init="one"` is Keras 2's `unit_forget_bias=True`; others are dropped."""
    if "forget_bias_init" in kwargs:
        if kwargs.pop("forget_bias_init") == "one":
            kwargs["unit_forget_bias"] = True
            converted.append(("forget_bias_init", "unit_forget_bias"))
        else:
            warnings.warn("The `forget_bias_init` argument has been ignored. Use `unit_forget_bias=True` "
                          "instead to initialize with ones.", stacklevel=4)


def recurrent_args_preprocessor(args, kwargs):
    converted = []
    _forget_bias(kwargs, converted)
    if "input_dim" in kwargs:
        length = kwargs.pop("input_length", None)
        kwargs["input_shape"] = (length, kwargs.pop("input_dim"))
        converted.append(("input_dim", "input_shape"))
        warnings.warn("The `input_dim` and `input_length` arguments in recurrent layers are deprecated. "
                      "Use `input_shape` instead.", stacklevel=3)
    return args, kwargs, converted


legacy_recurrent_support = generate_legacy_interface(
    allowed_positional_args=["units"],
    conversions=[("output_dim", "units"), ("init", "kernel_initializer"),
                 ("inner_init", "recurrent_initializer"), ("inner_activation", "recurrent_activation"),
                 ("W_regularizer", "kernel_regularizer"), ("b_regularizer", "bias_regularizer"),
                 ("U_regularizer", "recurrent_regularizer"), ("dropout_W", "dropout"),
                 ("dropout_U", "recurrent_dropout"), ("consume_less", "implementation")],
    value_conversions={"consume_less": {"cpu": 0, "mem": 1, "gpu": 2}},
    preprocessor=recurrent_args_preprocessor)

legacy_pooling2d_support = legacy_pooling3d_support = generate_legacy_interface(
    allowed_positional_args=["pool_size", "strides", "padding"],
    conversions=[("border_mode", "padding"), ("dim_ordering", "data_format")],
    value_conversions=_DIM_ORDERING)

legacy_global_pooling_support = generate_legacy_interface(
    conversions=[("dim_ordering", "data_format")], value_conversions=_DIM_ORDERING)

legacy_upsampling1d_support = generate_legacy_interface(
    allowed_positional_args=["size"], conversions=[("length", "size")])

legacy_upsampling2d_support = legacy_upsampling3d_support = generate_legacy_interface(
    allowed_positional_args=["size"], conversions=[("dim_ordering", "data_format")],
    value_conversions=_DIM_ORDERING)


def conv1d_args_preprocessor(args, kwargs):
    converted = []
    if "input_dim" in kwargs:
        kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim"))
        converted.append(("input_shape", "input_dim"))
    return args, kwargs, converted


legacy_conv1d_support = generate_legacy_interface(
    allowed_positional_args=["filters", "kernel_size"],
    conversions=[("nb_filter", "filters"), ("filter_length", "kernel_size"),
                 ("subsample_length", "strides"), ("border_mode", "padding")] + _WEIGHT_ARGS,
    preprocessor=conv1d_args_preprocessor)


def _keras2_call(kwargs):
    """Whether a call with integer kernel and strides positionally is tf.keras 2's form: Keras 2 refused
    it when Keras 2 keywords came along; tf.keras 2 reads the third argument as `strides`."""
    return any(k in kwargs for k in ("padding", "strides", "data_format"))


def conv2d_args_preprocessor(args, kwargs):
    """Keras 1's `(nb_filter, nb_row, nb_col)`, positional or `nb_row=`/`nb_col=`, as `kernel_size`."""
    converted, args = [], list(args)
    if len(args) > 4:
        raise TypeError("Layer can receive at most 3 positional arguments.")
    if len(args) == 4 and isinstance(args[2], int) and isinstance(args[3], int) and not _keras2_call(kwargs):
        args = args[:2] + [(args[2], args[3])]
    elif len(args) == 3 and isinstance(args[2], int) and "nb_col" in kwargs:
        args = args[:2] + [(args[2], kwargs.pop("nb_col"))]
    elif len(args) in (1, 2) and "nb_row" in kwargs and "nb_col" in kwargs:
        size = (kwargs.pop("nb_row"), kwargs.pop("nb_col"))
        if len(args) == 2:
            args.append(size)
        else:
            kwargs["kernel_size"] = size
    else:
        return tuple(args), kwargs, converted
    converted.append(("kernel_size", "nb_row/nb_col"))
    return tuple(args), kwargs, converted


legacy_conv2d_support = generate_legacy_interface(
    allowed_positional_args=["filters", "kernel_size"], conversions=_CONV_ARGS + _WEIGHT_ARGS,
    value_conversions=_DIM_ORDERING, preprocessor=conv2d_args_preprocessor)


def separable_conv2d_args_preprocessor(args, kwargs):
    converted = []
    if "init" in kwargs:
        init = kwargs.pop("init")
        kwargs["depthwise_initializer"] = kwargs["pointwise_initializer"] = init
        converted.append(("init", "depthwise_initializer/pointwise_initializer"))
    args, kwargs, more = conv2d_args_preprocessor(args, kwargs)
    return args, kwargs, converted + more


legacy_separable_conv2d_support = generate_legacy_interface(
    allowed_positional_args=["filters", "kernel_size"],
    conversions=_CONV_ARGS + [("b_regularizer", "bias_regularizer"), ("b_constraint", "bias_constraint"),
                              ("bias", "use_bias")],
    value_conversions=_DIM_ORDERING, preprocessor=separable_conv2d_args_preprocessor)


def deconv2d_args_preprocessor(args, kwargs):
    """Keras 1's `Deconvolution2D(..., output_shape)`: Keras 2 infers the output shape, so it goes."""
    converted = []
    if len(args) == 5 and isinstance(args[4], tuple):
        args = args[:-1]
        converted.append(("output_shape", None))
    if "output_shape" in kwargs:
        kwargs.pop("output_shape")
        converted.append(("output_shape", None))
    args, kwargs, more = conv2d_args_preprocessor(args, kwargs)
    return args, kwargs, converted + more


legacy_deconv2d_support = generate_legacy_interface(
    allowed_positional_args=["filters", "kernel_size"], conversions=_CONV_ARGS + _WEIGHT_ARGS,
    value_conversions=_DIM_ORDERING, preprocessor=deconv2d_args_preprocessor)


def conv3d_args_preprocessor(args, kwargs):
    """Keras 1's `(nb_filter, kernel_dim1, kernel_dim2, kernel_dim3)` as `kernel_size`."""
    converted, args = [], list(args)
    dims = ("kernel_dim1", "kernel_dim2", "kernel_dim3")
    if len(args) > 5:
        raise TypeError("Layer can receive at most 4 positional arguments.")
    if len(args) == 5 and all(isinstance(x, int) for x in args[2:5]):
        args = args[:2] + [tuple(args[2:5])]
    elif len(args) == 4 and isinstance(args[2], int) and "kernel_dim3" in kwargs:
        args = args[:2] + [(args[2], args[3], kwargs.pop("kernel_dim3"))]
    elif len(args) == 3 and all(d in kwargs for d in dims[1:]):
        args = args[:2] + [(args[2],) + tuple(kwargs.pop(d) for d in dims[1:])]
    elif len(args) in (1, 2) and all(d in kwargs for d in dims):
        size = tuple(kwargs.pop(d) for d in dims)
        if len(args) == 2:
            args.append(size)
        else:
            kwargs["kernel_size"] = size
    else:
        return tuple(args), kwargs, converted
    converted.append(("kernel_size", "kernel_dim*"))
    return tuple(args), kwargs, converted


legacy_conv3d_support = generate_legacy_interface(
    allowed_positional_args=["filters", "kernel_size"], conversions=_CONV_ARGS + _WEIGHT_ARGS,
    value_conversions=_DIM_ORDERING, preprocessor=conv3d_args_preprocessor)


def convlstm2d_args_preprocessor(args, kwargs):
    converted = []
    _forget_bias(kwargs, converted)
    args, kwargs, more = conv2d_args_preprocessor(args, kwargs)
    return args, kwargs, converted + more


legacy_convlstm2d_support = generate_legacy_interface(
    allowed_positional_args=["filters", "kernel_size"],
    conversions=_CONV_ARGS + [("init", "kernel_initializer"), ("inner_init", "recurrent_initializer"),
                              ("W_regularizer", "kernel_regularizer"),
                              ("U_regularizer", "recurrent_regularizer"),
                              ("b_regularizer", "bias_regularizer"),
                              ("inner_activation", "recurrent_activation"), ("dropout_W", "dropout"),
                              ("dropout_U", "recurrent_dropout"), ("bias", "use_bias")],
    value_conversions=_DIM_ORDERING, preprocessor=convlstm2d_args_preprocessor)


def batchnorm_args_preprocessor(args, kwargs):
    """Keras 1's `mode=0` is Keras 2's only mode; 1 and 2 are gone. (Keras 2 also refused positional
    arguments, which tf.keras 2 takes: `BatchNormalization(-1)`.)"""
    converted = []
    if "mode" in kwargs:
        if kwargs.pop("mode") != 0:
            raise TypeError("The `mode` argument of `BatchNormalization` no longer exists. `mode=1` and "
                            "`mode=2` are no longer supported.")
        converted.append(("mode", None))
    return args, kwargs, converted


legacy_batchnorm_support = generate_legacy_interface(
    allowed_positional_args=[],
    conversions=[("beta_init", "beta_initializer"), ("gamma_init", "gamma_initializer")],
    preprocessor=batchnorm_args_preprocessor)

_PAD_KEYS = {"top_pad", "bottom_pad", "left_pad", "right_pad"}


def _pads(given):
    return ((given.get("top_pad", 0), given.get("bottom_pad", 0)),
            (given.get("left_pad", 0), given.get("right_pad", 0)))


def zeropadding2d_args_preprocessor(args, kwargs):
    """Keras 1's padding dict `{"top_pad": ..}` as `((top, bottom), (left, right))`."""
    padding = kwargs.get("padding")
    if isinstance(padding, dict) and set(padding) <= _PAD_KEYS:
        kwargs["padding"] = _pads(padding)
    elif len(args) == 2 and isinstance(args[1], dict) and set(args[1]) <= _PAD_KEYS:
        args = (args[0], _pads(args[1]))
    else:
        return args, kwargs, []
    warnings.warn("The `padding` argument in the Keras 2 API no longer accepts dict types. You can now "
                  "input argument as: `padding=((top_pad, bottom_pad), (left_pad, right_pad))`",
                  stacklevel=3)
    return args, kwargs, []


legacy_zeropadding2d_support = generate_legacy_interface(
    allowed_positional_args=["padding"], conversions=[("dim_ordering", "data_format")],
    value_conversions=_DIM_ORDERING, preprocessor=zeropadding2d_args_preprocessor)

legacy_zeropadding3d_support = generate_legacy_interface(
    allowed_positional_args=["padding"], conversions=[("dim_ordering", "data_format")],
    value_conversions=_DIM_ORDERING)

legacy_cropping2d_support = legacy_cropping3d_support = generate_legacy_interface(
    allowed_positional_args=["cropping"], conversions=[("dim_ordering", "data_format")],
    value_conversions=_DIM_ORDERING)

legacy_spatialdropout1d_support = generate_legacy_interface(
    allowed_positional_args=["rate"], conversions=[("p", "rate")])

legacy_spatialdropoutNd_support = generate_legacy_interface(
    allowed_positional_args=["rate"], conversions=[("p", "rate"), ("dim_ordering", "data_format")],
    value_conversions=_DIM_ORDERING)

legacy_lambda_support = generate_legacy_interface(allowed_positional_args=["function", "output_shape"])


# ---- models ----
def generator_methods_args_preprocessor(args, kwargs):
    """Keras 1's `samples_per_epoch` as steps (divided by the generator's `batch_size` if it has one)."""
    converted = []
    if len(args) < 3 and "samples_per_epoch" in kwargs:
        samples = kwargs.pop("samples_per_epoch")
        generator = args[1] if len(args) > 1 else kwargs["generator"]
        batch_size = getattr(generator, "batch_size", None)
        kwargs["steps_per_epoch"] = samples // batch_size if batch_size else samples
        converted.append(("samples_per_epoch", "steps_per_epoch"))
    if {"samples_per_epoch", "val_samples", "nb_epoch", "nb_val_samples", "nb_worker"} & set(kwargs):
        warnings.warn("The semantics of the Keras 2 argument `steps_per_epoch` is not the same as the "
                      "Keras 1 argument `samples_per_epoch`. `steps_per_epoch` is the number of batches "
                      "to draw from the generator at each epoch. Basically steps_per_epoch = "
                      "samples_per_epoch/batch_size. Similarly `nb_val_samples`->`validation_steps` and "
                      "`val_samples`->`steps` arguments have changed. Update your method calls "
                      "accordingly.", stacklevel=3)
    return args, kwargs, converted


legacy_generator_methods_support = generate_legacy_method_interface(
    allowed_positional_args=["generator", "steps_per_epoch", "epochs"],
    conversions=[("samples_per_epoch", "steps_per_epoch"), ("val_samples", "steps"),
                 ("nb_epoch", "epochs"), ("nb_val_samples", "validation_steps"),
                 ("nb_worker", "workers"), ("pickle_safe", "use_multiprocessing"),
                 ("max_q_size", "max_queue_size")],
    preprocessor=generator_methods_args_preprocessor)

legacy_model_constructor_support = generate_legacy_interface(
    conversions=[("input", "inputs"), ("output", "outputs")])

legacy_input_support = generate_legacy_interface(conversions=[("input_dtype", "dtype")])


def add_weight_args_preprocessing(args, kwargs):
    """Keras 1's `add_weight(shape, name, ...)` order as keywords."""
    if len(args) > 1 and isinstance(args[1], (tuple, list)):
        kwargs["shape"] = args[1]
        args = (args[0],) + tuple(args[2:])
        if len(args) > 1 and isinstance(args[1], str):
            kwargs["name"] = args[1]
            args = (args[0],) + tuple(args[2:])
    return args, kwargs, []


legacy_add_weight_support = generate_legacy_interface(
    allowed_positional_args=["name", "shape"], preprocessor=add_weight_args_preprocessing)


def get_updates_arg_preprocessing(args, kwargs):
    """Keras 1's `get_updates(params, constraints, loss)` as Keras 2's `get_updates(loss, params)`."""
    if len(args) > 4:
        raise TypeError(f"`get_updates` takes (loss, params); received {len(args) - 1} positional arguments.")
    if len(args) == 4:
        opt, params, _, loss = args
        return [opt], {**kwargs, "loss": loss, "params": params}, []
    if len(args) == 3 and isinstance(args[1], (list, tuple)) and isinstance(args[2], dict) and "loss" in kwargs:
        return [args[0]], {**kwargs, "params": args[1]}, []
    return args, kwargs, []


legacy_get_updates_support = generate_legacy_method_interface(preprocessor=get_updates_arg_preprocessing)
