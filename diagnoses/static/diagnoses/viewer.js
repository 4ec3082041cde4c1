// The image viewer (templates/diagnoses/_viewer.html), built on dwv (DICOM Web Viewer, served
// from our own static files): every study is read as DICOM from an authenticated URL, so it is
// drawn from its own pixel data with its own window at full resolution. Wheel zooms, drag pans or
// windows (the mode buttons), and the keyboard does all of it. A finding's heatmap is a layer of
// our own over dwv's canvas, kept on the image's pixel box as it zooms and pans, with the crop the
// model saw (from /viewer/, the server's one definition of it) drawn and explained.
// A comparison page has two image panes in one dwv app; zoom and pan move both alike.
import { App, AppOptions, ViewConfig, ToolConfig, WindowLevel } from "./vendor/dwv/dwv.js";

const WHEEL_STEP = 1 / 500;
const KEY_ZOOM = 0.25;
const KEY_PAN = 40;

function imageBox(layer, size) {
  // The image's pixel box in the layer's display pixels (dwv keeps plane positions in pixels).
  const scale = layer.getScale();
  const origin = layer.displayToPlanePos({ getX: () => 0, getY: () => 0 });
  return {
    left: -origin.getX() * scale.x,
    top: -origin.getY() * scale.y,
    width: size.x * scale.x,
    height: size.y * scale.y,
    scale: scale.x,
  };
}

class Viewer {
  constructor(root) {
    this.root = root;
    this.panes = [...root.querySelectorAll("[data-pane]")];
    this.app = new App();
    this.mode = "pan";
    this.inverted = false;
    const configs = {};
    this.panes.forEach((pane, index) => {
      configs[String(index)] = [new ViewConfig(pane.querySelector(".layer-group").id)];
    });
    const options = new AppOptions(configs);
    // dwv's window/level tool; zoom and pan are ours, applied to every pane alike (linked).
    options.tools = { WindowLevel: new ToolConfig() };
    this.app.init(options);
    for (const type of ["zoomchange", "offsetchange", "wlchange", "colourmapchange"]) {
      this.app.addEventListener(type, () => this.update());
    }
    this.app.addEventListener("load", () => this.loaded());
    this.app.addEventListener("error", () => { this.status("The image could not be shown."); });
    window.addEventListener("resize", () => { this.app.fitToContainer(); this.update(); });
    this.bindControls();
  }

  control(name) { return this.root.querySelector(`[data-control="${name}"]`); }

  status(text) {
    const output = this.root.querySelector("[data-viewer-status]");
    if (output) output.textContent = text;
  }

  async start() {
    this.status("Loading the image…");
    this.facts = [];
    for (const pane of this.panes) {
      const response = await fetch(pane.dataset.factsUrl, { credentials: "same-origin" });
      if (!response.ok) { this.status("The image could not be loaded."); return; }
      this.facts.push(await response.json());
    }
    this.loadedCount = 0;
    this.loadNext();
  }

  loadNext() {
    // One at a time, so each pane's data id is its index.
    const facts = this.facts[this.loadedCount];
    this.app.loadURLs([facts.source_url], { forceLoader: "dicom", withCredentials: true });
  }

  loaded() {
    this.loadedCount += 1;
    if (this.loadedCount < this.panes.length) { this.loadNext(); return; }
    this.app.setTool("WindowLevel");
    this.fillPresets();
    this.status("");
    this.root.dataset.ready = "true";
    this.drawCrop();
    this.update();
    this.root.dispatchEvent(new CustomEvent("viewer:ready"));
  }

  layer(index = 0) {
    const group = this.app.getLayerGroupByDivId(this.panes[index].querySelector(".layer-group").id);
    return group ? group.getBaseViewLayer() : undefined;
  }

  controller(index = 0) { return this.layer(index)?.getViewController(); }

  size(index = 0) {
    const size = this.controller(index).getImageSize();
    return { x: size.get(0), y: size.get(1) };
  }

  // What the page shows of the state: scale, window, and the overlay kept on the image.
  update() {
    if (this.root.dataset.ready !== "true") return;
    this.panes.forEach((pane, index) => {
      const layer = this.layer(index);
      if (!layer) return;
      const box = imageBox(layer, this.size(index));
      const overlay = pane.querySelector(".image-overlay");
      Object.assign(overlay.style, {
        left: box.left + "px", top: box.top + "px", width: box.width + "px", height: box.height + "px",
      });
      pane.dataset.scale = box.scale.toFixed(4);
      pane.dataset.left = box.left.toFixed(1);
      pane.dataset.top = box.top.toFixed(1);
      if (index === 0) {
        const scaleOutput = this.control("scale");
        if (scaleOutput) scaleOutput.value = Math.round(box.scale * 100) + "%";
        const wl = this.controller(0).getWindowLevel();
        const wlOutput = this.control("window");
        if (wlOutput) wlOutput.value = `C ${Math.round(wl.center)} / W ${Math.round(wl.width)}`;
        this.root.dataset.windowCenter = wl.center;
        this.root.dataset.windowWidth = wl.width;
      }
    });
  }

  groups() {
    return this.panes.map((pane) => this.app.getLayerGroupByDivId(pane.querySelector(".layer-group").id));
  }

  // Zoom every pane by the same factor about the same point of its canvas.
  zoomBy(step, displayX, displayY) {
    const canvas = this.panes[0].querySelector("canvas");
    const x = displayX ?? canvas.clientWidth / 2;
    const y = displayY ?? canvas.clientHeight / 2;
    for (const group of this.groups()) {
      const layer = group.getBaseViewLayer();
      const planePoint = layer.displayToMainPlanePos({ getX: () => x, getY: () => y });
      group.addScale(step, layer.getViewController().getPlanePositionFromPlanePoint(planePoint));
      group.draw();
    }
  }

  oneToOne() {
    const scale = this.layer(0).getScale().x;
    this.zoomBy(1 / scale - 1);
  }

  fit() { this.app.resetZoomPan(); this.update(); }

  // Move every pane's image by (dx, dy) screen pixels.
  pan(dx, dy) {
    for (const group of this.groups()) {
      const scale = group.getBaseViewLayer().getScale();
      group.addTranslation({ x: dx / scale.x, y: dy / scale.y, z: 0 });
      group.draw();
    }
  }

  setMode(mode) {
    this.mode = mode;
    for (const [name, value] of [["pan", "pan"], ["window-mode", "window"]]) {
      this.control(name)?.setAttribute("aria-pressed", String(mode === value));
    }
  }

  windowBy(dCentre, dWidth) {
    for (let index = 0; index < this.panes.length; index += 1) {
      const controller = this.controller(index);
      const wl = controller.getWindowLevel();
      controller.setWindowLevel(new WindowLevel(wl.center + dCentre, Math.max(1, wl.width + dWidth)));
    }
  }

  fillPresets() {
    const select = this.control("preset");
    if (!select) return;
    const names = this.controller(0).getWindowLevelPresetsNames();
    select.replaceChildren(...names.map((name) => new Option(name === "minmax" ? "Full range" : name, name)));
    select.value = this.controller(0).getCurrentWindowPresetName();
  }

  invert() {
    this.inverted = !this.inverted;
    for (let index = 0; index < this.panes.length; index += 1) {
      const controller = this.controller(index);
      controller.setColourMap(controller.getColourMap() === "invPlain" ? "plain" : "invPlain");
    }
    this.control("invert")?.setAttribute("aria-pressed", String(this.inverted));
  }

  reset() {
    for (let index = 0; index < this.panes.length; index += 1) {
      const controller = this.controller(index);
      controller.resetWindowLevel?.();
      if (this.inverted) controller.setColourMap(controller.getColourMap() === "invPlain" ? "plain" : "invPlain");
    }
    this.inverted = false;
    this.control("invert")?.setAttribute("aria-pressed", "false");
    this.fit();
    this.fillPresets();
    this.update();
  }

  // The model's crop: drawn on the overlay and said in words, from the server's numbers.
  drawCrop() {
    const crop = this.facts[0].model_crop;
    const rect = this.panes[0].querySelector(".crop-box");
    const svg = rect?.ownerSVGElement;
    if (!rect) return;
    svg.setAttribute("viewBox", `0 0 ${crop.image_width} ${crop.image_height}`);
    rect.setAttribute("x", crop.left);
    rect.setAttribute("y", crop.top);
    rect.setAttribute("width", crop.right - crop.left);
    rect.setAttribute("height", crop.bottom - crop.top);
    const caption = this.root.querySelector("[data-crop-caption]");
    if (caption) {
      const px = (v) => Math.round(v);
      caption.querySelector("[data-crop-resize]").textContent = crop.resize_shorter_side;
      caption.querySelector("[data-crop-size]").textContent = `${crop.crop_size} × ${crop.crop_size}`;
      caption.querySelector("[data-crop-numbers]").textContent =
        `${px(crop.right - crop.left)} × ${px(crop.bottom - crop.top)} px from (${px(crop.left)}, ${px(crop.top)}) ` +
        `of the ${crop.image_width} × ${crop.image_height} px image`;
    }
  }

  showHeatmap(url, label) {
    const heat = this.panes[0].querySelector(".heat-layer");
    const svg = this.panes[0].querySelector(".crop-outline");
    const caption = this.root.querySelector("[data-crop-caption]");
    const opacity = this.control("opacity");
    const choice = this.control("heatmap");
    if (choice && choice.value !== url) choice.value = url;
    heat.hidden = !url;
    svg.toggleAttribute("hidden", !url);
    if (caption) caption.hidden = !url;
    if (opacity) opacity.disabled = !url;
    for (const row of document.querySelectorAll("#findings tbody tr")) {
      row.classList.toggle("heat-shown", !!url && row.dataset.heatmapUrl === url);
    }
    if (url) {
      heat.src = url;
      heat.alt = `Heatmap of ${label}`;
      if (caption) caption.querySelector("[data-crop-finding]").textContent = label;
    }
  }

  fillHeatmapChoices() {
    const choice = this.control("heatmap");
    if (!choice) return;
    const rows = document.querySelectorAll("#findings tbody tr");
    choice.replaceChildren(new Option("No heatmap", ""));
    for (const row of rows) {
      const label = row.dataset.finding.replaceAll("_", " ");
      choice.append(new Option(label, row.dataset.heatmapUrl));
      row.addEventListener("click", () => this.showHeatmap(row.dataset.heatmapUrl, label));
    }
    choice.disabled = rows.length === 0;
  }

  bindControls() {
    const on = (name, handler, type = "click") => this.control(name)?.addEventListener(type, handler);
    on("zoom-in", () => this.zoomBy(KEY_ZOOM));
    on("zoom-out", () => this.zoomBy(-KEY_ZOOM / (1 + KEY_ZOOM)));
    on("fit", () => this.fit());
    on("one-to-one", () => this.oneToOne());
    on("pan", () => this.setMode("pan"));
    on("window-mode", () => this.setMode("window"));
    on("invert", () => this.invert());
    on("reset", () => this.reset());
    on("preset", (event) => {
      for (let index = 0; index < this.panes.length; index += 1) {
        if (this.controller(index).getWindowLevelPresetsNames().includes(event.target.value)) {
          this.controller(index).setWindowLevelPreset(event.target.value);
        }
      }
    }, "change");
    on("heatmap", (event) => {
      this.showHeatmap(event.target.value, event.target.selectedOptions[0].textContent);
    }, "change");
    const opacity = this.control("opacity");
    const setOpacity = () => {
      this.panes[0].querySelector(".heat-layer").style.opacity = opacity.value / 100;
    };
    opacity?.addEventListener("input", setOpacity);
    if (opacity) setOpacity();
    // Wheel zoom in either mode, about the pointer (dwv's own wheel only zooms when panning).
    for (const pane of this.panes) {
      pane.addEventListener("wheel", (event) => {
        if (this.root.dataset.ready !== "true") return;
        event.preventDefault();
        event.stopPropagation();
        const canvas = this.panes[0].querySelector("canvas");
        const rect = canvas.getBoundingClientRect();
        this.zoomBy(-event.deltaY * WHEEL_STEP, event.clientX - rect.left, event.clientY - rect.top);
      }, { capture: true, passive: false });
    }
    // Drag pans in pan mode: dwv's window/level tool never sees those events.
    let dragFrom = null;
    for (const pane of this.panes) {
      for (const type of ["mousedown", "mousemove", "mouseup", "touchstart", "touchmove", "touchend"]) {
        pane.addEventListener(type, (event) => {
          if (this.mode === "pan") event.stopPropagation();
        }, { capture: true });
      }
      pane.addEventListener("pointerdown", (event) => {
        if (this.mode !== "pan" || this.root.dataset.ready !== "true") return;
        dragFrom = { x: event.clientX, y: event.clientY };
        pane.setPointerCapture(event.pointerId);
        event.preventDefault();
      });
      pane.addEventListener("pointermove", (event) => {
        if (!dragFrom) return;
        this.pan(event.clientX - dragFrom.x, event.clientY - dragFrom.y);
        dragFrom = { x: event.clientX, y: event.clientY };
      });
      const end = () => { dragFrom = null; };
      pane.addEventListener("pointerup", end);
      pane.addEventListener("pointercancel", end);
    }
    this.root.addEventListener("keydown", (event) => this.key(event));
    document.addEventListener("chexweb:findings", () => this.fillHeatmapChoices());
    this.fillHeatmapChoices();
  }

  key(event) {
    if (this.root.dataset.ready !== "true" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName)) return;
    const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const actions = {
      "+": () => this.zoomBy(KEY_ZOOM),
      "=": () => this.zoomBy(KEY_ZOOM),
      "-": () => this.zoomBy(-KEY_ZOOM / (1 + KEY_ZOOM)),
      f: () => this.fit(),
      1: () => this.oneToOne(),
      p: () => this.setMode("pan"),
      w: () => this.setMode("window"),
      i: () => this.invert(),
      r: () => this.reset(),
      h: () => {
        const choice = this.control("heatmap");
        if (!choice || choice.disabled) return;
        const next = choice.value ? "" : choice.options[1]?.value || "";
        this.showHeatmap(next, next ? choice.options[1].textContent : "");
      },
    };
    if (arrows[event.key]) {
      const [x, y] = arrows[event.key];
      if (event.shiftKey) this.windowBy(-y * 10, x * 20);  // up brightens, right widens
      else this.pan(-x * KEY_PAN, -y * KEY_PAN);
    } else if (actions[event.key]) {
      actions[event.key]();
    } else {
      return;
    }
    event.preventDefault();
  }
}

for (const root of document.querySelectorAll("[data-viewer]")) {
  const viewer = new Viewer(root);
  root.viewer = viewer;
  viewer.start();
}
