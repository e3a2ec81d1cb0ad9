import type { BrowserContext, Page } from 'playwright-core';
export declare const CHROMIUM_PATH: string;
export declare const CHROMIUM_ARGS: string[];
export declare function chromiumAvailable(): boolean;
export declare function launchChromium(viewport?: { width?: number; height?: number }): Promise<{ context: BrowserContext; close: () => Promise<void> }>;
export declare function openOffline(context: BrowserContext, file: string): Promise<{ page: Page; refused: string[]; errors: string[] }>;
