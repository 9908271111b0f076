import pytest
from PIL import Image

from tools.base import ToolContext, call_tool
from tools.image_tools import resolve_box
from tools.images import ImageRegistry, load_image
from tools.toolbox import build_toolbox


@pytest.fixture()
def toolbox():
    registry = ImageRegistry()
    image = Image.new("RGB", (400, 200), "white")
    image.paste((255, 0, 0), (100, 50, 200, 100))
    registry.add_loaded(load_image(image))
    return build_toolbox(ToolContext(images=registry)), registry


def test_tools_have_pydantic_schemas_for_models(toolbox):
    tools, _ = toolbox
    assert {"read_metadata", "crop", "zoom", "rotate", "enhance"} <= set(tools)
    for tool in tools.values():
        schema = tool.args_schema.model_json_schema()
        assert schema["properties"] and tool.description
        if type(tool).kind in ("image", "metadata"):
            assert "image" in schema["required"]


def test_box_units():
    assert resolve_box([0.25, 0.25, 0.5, 0.75], "fraction", (400, 200)) == (100, 50, 200, 150)
    assert resolve_box([100, 50, 200, 150], "pixels", (400, 200)) == (100, 50, 200, 150)
    assert resolve_box([250, 250, 500, 750], "per_mille", (400, 200)) == (100, 50, 200, 150)
    assert resolve_box([-10, -10, 5000, 5000], "pixels", (400, 200)) == (0, 0, 400, 200)


def test_crop_registers_new_handle_and_maps_back(toolbox):
    tools, registry = toolbox
    obs = call_tool(tools["crop"], {"image": "img:0", "box": [0.25, 0.25, 0.5, 0.5]})
    assert obs.ok and obs.images == ["img:1"]
    crop = registry.get("img:1")
    assert crop.size == (100, 50) and crop.parent == "img:0"
    assert crop.image.getpixel((50, 25)) == (255, 0, 0)
    assert crop.root_box([0, 0, 100, 50]) == [100, 50, 200, 100]


def test_zoom_upscales_with_lanczos_and_maps_back(toolbox):
    tools, registry = toolbox
    obs = call_tool(tools["zoom"], {"image": "img:0", "box": [100, 50, 200, 100], "units": "pixels", "factor": 4})
    zoom = registry.get(obs.images[0])
    assert zoom.size == (400, 200)
    assert zoom.root_box([0, 0, 400, 200]) == pytest.approx([100, 50, 200, 100])
    whole = call_tool(tools["zoom"], {"image": "img:0", "factor": 8})
    assert max(registry.get(whole.images[0]).size) == 3200


def test_rotate_and_enhance(toolbox):
    tools, registry = toolbox
    rotated = call_tool(tools["rotate"], {"image": "img:0", "degrees": 90})
    assert registry.get(rotated.images[0]).size == (200, 400)
    assert registry.get(rotated.images[0]).root_box([0, 0, 1, 1]) is None
    enhanced = call_tool(
        tools["enhance"], {"image": rotated.images[0], "contrast": 2, "sharpness": 2, "grayscale": True, "invert": True}
    )
    assert enhanced.ok and "contrast" in enhanced.text
    pixel = registry.get(enhanced.images[0]).image.getpixel((1, 1))
    assert pixel[0] == pixel[1] == pixel[2]


@pytest.mark.parametrize(
    "name,args,error",
    [
        ("crop", {"image": "img:7", "box": [0, 0, 1, 1]}, "unknown image handle"),
        ("crop", {"image": "img:0", "box": [0.5, 0.5, 0.2, 0.9]}, "empty or inverted"),
        ("crop", {"image": "img:0", "box": [2, 2, 3, 3]}, "outside"),
        ("crop", {"image": "img:0", "box": [0, 1]}, "invalid arguments: box"),
        ("crop", {"image": "photo.jpg", "box": [0, 0, 1, 1]}, "invalid arguments: image"),
        ("zoom", {"image": "img:0", "factor": 50}, "invalid arguments: factor"),
        ("rotate", {"image": "img:0"}, "invalid arguments: degrees"),
    ],
)
def test_bad_calls_become_error_observations(toolbox, name, args, error):
    tools, registry = toolbox
    obs = call_tool(tools[name], args)
    assert not obs.ok
    assert error in obs.error
    assert obs.text.startswith(f"{name} failed") or obs.text.startswith("error")
    assert len(registry) == 1


def test_metadata_tool_left_out_when_metadata_is_off():
    tools = build_toolbox(ToolContext(images=ImageRegistry()), use_metadata=False)
    assert "read_metadata" not in tools
