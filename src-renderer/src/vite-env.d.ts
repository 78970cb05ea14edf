/** Vite's client types: lets the renderer import its CSS (and assets) as modules. */
/// <reference types="vite/client" />
