#version 330 core
// A map's raw values to colours, one output pixel per value: [lo, hi] maps linearly onto the 256-entry
// table, clamped, and a flat range (hi <= lo) shows the middle entry, as colorize() does on the CPU.
uniform sampler2D values; // R32F, the map's size
uniform sampler2D lut;    // 256x1 RGBA8
uniform float lo;
uniform float hi;
out vec4 color;

void main() {
    float v = texelFetch(values, ivec2(gl_FragCoord.xy), 0).r;
    float span = hi - lo;
    float t = span > 0.0 ? (v - lo) / span : 0.5;
    int entry = int(clamp(t, 0.0, 1.0) * 255.0 + 0.5);
    color = vec4(texelFetch(lut, ivec2(entry, 0), 0).rgb, 1.0);
}
