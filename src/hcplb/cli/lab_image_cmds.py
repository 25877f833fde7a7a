"""`hcplb lab image build|list|remove`: the cached root filesystem of booted lab routers."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from hcplb.cli._output import (
    OutputFormat,
    OutputOption,
    console,
    err_console,
    handles_errors,
    print_json,
)
from hcplb.lab.image import Image, ensure_image, find_image, image_name, list_images, remove_image

image_app = typer.Typer(
    help="The router image of `lab up --router-host systemd` (Debian 12, built once, cached).",
    no_args_is_help=True,
)


def _json(image: Image) -> dict[str, object]:
    return {
        "name": image.name,
        "path": str(image.path),
        "suite": image.suite,
        "packages": list(image.packages),
        "built": image.built,
        "build_seconds": image.build_seconds,
        "size_bytes": image.size_bytes,
        "current": image.name == image_name(),
    }


@image_app.command("build")
@handles_errors
def image_build(
    force: bool = typer.Option(False, "--force", help="rebuild even if it is cached"),
) -> None:
    """Build the router image (debootstrap from this machine's apt archive); cached afterwards."""
    started = time.monotonic()
    cached = find_image() is not None and not force

    def progress(text: str) -> None:
        err_console.print(f"[dim]{time.monotonic() - started:5.1f} s[/] {text}", highlight=False)

    image = ensure_image(on_progress=progress, force=force)
    what = "cached" if cached else f"built in {image.build_seconds:.0f} s"
    console.print(
        f"router image {image.name}: {what}, {image.size_bytes / 2**20:.0f} MiB ({image.path})",
        highlight=False,
    )


@image_app.command("list")
@handles_errors
def image_list(output: OutputFormat = OutputOption) -> None:
    """The cached router images; `current` is the one today's package list builds."""
    images = list_images()
    if output is OutputFormat.json:
        print_json([_json(i) for i in images])
        return
    table = Table(title="router images")
    for column in ("name", "current", "size", "built", "packages"):
        table.add_column(column)
    for i in images:
        table.add_row(
            i.name,
            "yes" if i.name == image_name() else "no",
            f"{i.size_bytes / 2**20:.0f} MiB",
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(i.built)),
            " ".join(i.packages),
        )
    console.print(table)


@image_app.command("remove")
@handles_errors
def image_remove(
    name: str = typer.Argument(None, help="image name (default: the current one)"),
) -> None:
    """Delete a cached router image (refused while a lab boots routers from it)."""
    image = remove_image(name or image_name())
    console.print(f"removed router image {image.name}", highlight=False)
