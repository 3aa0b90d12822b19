"""Keras's image models, built from public jkeras layers; weights come from Keras `.h5` files.

`jkeras.applications.ResNet50(...)` and `jkeras.applications.resnet50.preprocess_input`
as in Keras. Family modules and model functions are imported on first use, so the
package imports quickly and one family's import error does not hide the others.
"""
import importlib

_FAMILIES = ("imagenet_utils", "vgg16", "vgg19", "resnet", "resnet50", "resnet_v2", "resnext",
             "xception", "inception_v3", "inception_resnet_v2", "mobilenet", "mobilenet_v2",
             "densenet", "nasnet", "efficientnet", "efficientnet_v2", "convnext", "regnet",
             "mobilenet_v3", "resnet_rs")

_MODELS = {
    "VGG16": "vgg16", "VGG19": "vgg19",
    "ResNet50": "resnet", "ResNet101": "resnet", "ResNet152": "resnet",
    "ResNet50V2": "resnet_v2", "ResNet101V2": "resnet_v2", "ResNet152V2": "resnet_v2",
    "ResNeXt50": "resnext", "ResNeXt101": "resnext",
    "Xception": "xception", "InceptionV3": "inception_v3",
    "InceptionResNetV2": "inception_resnet_v2",
    "MobileNet": "mobilenet", "MobileNetV2": "mobilenet_v2",
    "DenseNet121": "densenet", "DenseNet169": "densenet", "DenseNet201": "densenet",
    "NASNetMobile": "nasnet", "NASNetLarge": "nasnet",
    **{f"EfficientNetB{i}": "efficientnet" for i in range(8)},
    **{f"EfficientNetV2{s}": "efficientnet_v2" for s in ("B0", "B1", "B2", "B3", "S", "M", "L")},
    **{f"ConvNeXt{s}": "convnext" for s in ("Tiny", "Small", "Base", "Large", "XLarge")},
    **{f"RegNet{k}{s}": "regnet" for k in "XY"
       for s in ("002", "004", "006", "008", "016", "032", "040", "064", "080", "120", "160",
                 "320")},
    "MobileNetV3Small": "mobilenet_v3", "MobileNetV3Large": "mobilenet_v3",
    **{f"ResNetRS{d}": "resnet_rs" for d in (50, 101, 152, 200, 270, 350, 420)},
}

__all__ = sorted(_MODELS) + list(_FAMILIES)


def __getattr__(name):
    if name in _MODELS:
        value = getattr(importlib.import_module(f"{__name__}.{_MODELS[name]}"), name)
    elif name in _FAMILIES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
