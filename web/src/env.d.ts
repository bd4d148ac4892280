/** Stylesheets are imported for their side effect; vite emits them as a linked file. */
declare module "*.css";
