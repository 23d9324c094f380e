// Builds the dashboard into dist/, which the Tauri shell embeds (`frontendDist: ../ui/dist`).
import { defineConfig } from "vite";

export default defineConfig({
  // Tauri prints its own output in the same terminal during `tauri dev`.
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    // WebKitGTK 2.40+ (Linux), WKWebView (macOS 12+) and WebView2 all run ES2021.
    target: ["es2021", "safari15", "chrome105"],
    outDir: "dist",
    emptyOutDir: true,
  },
});
