import type { AuctionImage } from '../types';

/** The browser picks the thumbnail (400 px) wherever it is enough: on a phone, in lists. */
export function srcSet(image: AuctionImage): string {
  return `${image.thumbUrl} ${Math.min(400, image.width)}w, ${image.url} ${image.width}w`;
}

export function CardPhoto({ image, alt }: { image: AuctionImage | undefined; alt: string }) {
  if (!image) return null;
  return (
    <img
      class="card-photo"
      src={image.thumbUrl}
      srcSet={srcSet(image)}
      sizes="(max-width: 640px) 90vw, 280px"
      width={image.width}
      height={image.height}
      alt={alt}
      loading="lazy"
      decoding="async"
      data-testid="card-photo"
    />
  );
}

export function Gallery({ images, alt }: { images: AuctionImage[]; alt: string }) {
  if (images.length === 0) return null;
  return (
    <ul class="gallery" data-testid="gallery" aria-label="Photos">
      {images.map((image, i) => (
        <li key={image.id}>
          <a href={image.url} target="_blank" rel="noopener">
            <img
              src={image.thumbUrl}
              srcSet={srcSet(image)}
              sizes={i === 0 ? '(max-width: 640px) 100vw, 600px' : '(max-width: 640px) 45vw, 160px'}
              width={image.width}
              height={image.height}
              alt={`${alt}, photo ${i + 1}`}
              loading={i === 0 ? 'eager' : 'lazy'}
              data-testid="gallery-photo"
            />
          </a>
        </li>
      ))}
    </ul>
  );
}
