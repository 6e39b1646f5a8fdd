/** A machine's `image_ref` as Fly reports it: from the catalogue when the emulator holds the image. */
import { parseImageRef } from '../../fly/image-ref.ts';
import type { CatalogueImage } from './image-catalogue.ts';
import type { MachineRecord } from './machine-store.ts';

export function machineImageRef(image: string, found: CatalogueImage | undefined): MachineRecord['imageRef'] {
  if (found) {
    return {
      registry: found.ref.registry,
      repository: found.ref.repository,
      tag: found.ref.tag ?? 'latest',
      digest: found.digest,
      labels: { ...found.labels },
    };
  }
  try {
    const ref = parseImageRef(image);
    return { registry: ref.registry, repository: ref.repository, tag: ref.tag ?? '', labels: {} };
  } catch {
    return { registry: '', repository: image, tag: '', labels: {} };
  }
}
