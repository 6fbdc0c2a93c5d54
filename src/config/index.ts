/** @module Configuration: the settings table and the one-time loader. */
export { loadConfig } from './load-config.js';
export type { Config, ConfigOverrides } from './load-config.js';
export { settings } from './settings.js';
export type { SettingKey, SettingSpec } from './settings.js';
export { parseYamlFile } from './yaml-file.js';
export type { ParsedYaml } from './yaml-file.js';
export { defaultHome, installLocation, isInstalledCopy, shippedPolicies } from './locations.js';
export type { InstallLocation } from './locations.js';
export { loopbackHost, publicBaseUrl } from './urls.js';
